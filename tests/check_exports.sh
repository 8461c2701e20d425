#!/bin/sh
# tests/check_exports.sh LIBRINGO_SO LIBRINGO_A RINGO_H [API_MD]
#
# The library exports exactly the public API:
#  1. every dynamic symbol libringo.so defines is an rg_ name (an internal
#     rg__ name is a failure) or the version node (RINGO_0);
#  2. every one of them is a function declared RG_API in ringo.h;
#  3. every function declared RG_API in ringo.h is exported;
#  4. every global symbol libringo.a defines starts with rg_ (internal
#     names included), so static linking cannot collide with a program's
#     own names (sanitizer builds add __odr_asan.* globals: ignored).
#  5. with API_MD (docs/api.md): every RG_API function is documented there.
# POSIX sh, grep, sed, awk and binutils' nm: no python.
set -u

so=$1
ar=$2
hdr=$3
doc=${4:-}
fail=0
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT

command -v nm >/dev/null || { echo "SKIP: no nm"; exit 77; }

# Declared: the name before the first "(" of each RG_API declaration.
# A declaration may span lines, so join lines up to its ";" first.
awk '
    /^RG_API[ \t]/ { decl = ""; indecl = 1 }
    indecl { decl = decl " " $0 }
    indecl && /;/ {
        indecl = 0
        sub(/\(.*/, "", decl)
        n = split(decl, w, /[^A-Za-z0-9_]+/)
        name = w[n]
        if (name == "")
            name = w[n - 1]
        print name
    }
' "$hdr" | sort -u >"$tmp/declared"
ndecl=$(grep -c '^RG_API[[:space:]]' "$hdr")
if [ "$(wc -l <"$tmp/declared")" -ne "$ndecl" ] ||
    grep -qv '^rg_[a-z][a-z0-9_]*$' "$tmp/declared"; then
    echo "FAIL: could not parse the $ndecl RG_API declarations of $hdr:"
    cat "$tmp/declared"
    fail=1
fi

# Exported: the defined dynamic symbols, without their @@version.
nm -D --defined-only "$so" >"$tmp/nm" || { echo "FAIL: nm $so"; exit 1; }
awk '{ n = $NF; sub(/@.*/, "", n); print $(NF - 1), n }' "$tmp/nm" |
    sort -u -k2 >"$tmp/exported"

# 1. Nothing but rg_ functions and the version node.
awk '$2 !~ /^rg_[a-z]/ && !($1 == "A" && $2 ~ /^RINGO_[0-9.]+$/)' \
    "$tmp/exported" >"$tmp/bad"
if [ -s "$tmp/bad" ]; then
    echo "FAIL: $so exports symbols outside the public API:"
    sed 's/^/  /' "$tmp/bad"
    fail=1
fi

# 2. Every exported rg_ name is declared RG_API.
awk '$2 ~ /^rg_/ { print $2 }' "$tmp/exported" >"$tmp/rg"
undeclared=$(grep -vxF -f "$tmp/declared" "$tmp/rg")
if [ -n "$undeclared" ]; then
    echo "FAIL: exported but not declared RG_API in $hdr:"
    echo "$undeclared" | sed 's/^/  /'
    fail=1
fi
awk '$2 ~ /^rg_/ && $1 != "T"' "$tmp/exported" >"$tmp/notfunc"
if [ -s "$tmp/notfunc" ]; then
    echo "FAIL: exported rg_ symbols that are not functions:"
    sed 's/^/  /' "$tmp/notfunc"
    fail=1
fi

# 3. Every RG_API function is exported.
missing=$(grep -vxF -f "$tmp/rg" "$tmp/declared")
if [ -n "$missing" ]; then
    echo "FAIL: declared RG_API in $hdr but not exported by $so:"
    echo "$missing" | sed 's/^/  /'
    fail=1
fi

# 4. The static archive defines no global name outside rg_.
nm -g --defined-only "$ar" 2>/dev/null |
    awk 'NF == 3 && $3 !~ /^(rg_|__odr_asan|__asan)/ { print $3 }' |
    sort -u >"$tmp/astray"
if [ -s "$tmp/astray" ]; then
    echo "FAIL: $ar defines global symbols without the rg_ prefix:"
    sed 's/^/  /' "$tmp/astray"
    fail=1
fi

# 5. The reference page names every function.
if [ -n "$doc" ]; then
    undocumented=$(while read -r f; do
        grep -qw "$f" "$doc" || echo "$f"
    done <"$tmp/declared")
    if [ -n "$undocumented" ]; then
        echo "FAIL: RG_API functions missing from $doc:"
        echo "$undocumented" | sed 's/^/  /'
        fail=1
    fi
fi

if [ "$fail" -eq 0 ]; then
    echo "ok: $(wc -l <"$tmp/rg") exported functions = $ndecl RG_API" \
        "declarations${doc:+, all in $doc}; static archive names all rg_"
fi
exit "$fail"
