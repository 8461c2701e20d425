#!/usr/bin/env bash
# tests/fuzz/run.sh [SECONDS] [OUTDIR]: build the libFuzzer target
# tests/fuzz/fuzz_http.c (httpd's request path, examples/httpd_proto.c)
# with clang -fsanitize=fuzzer,address,undefined into OUTDIR (default
# build-fuzz/fuzz) and run it for SECONDS (default 30) from the seed corpus
# tests/fuzz/corpus with the dictionary tests/fuzz/http.dict. New inputs
# collect in OUTDIR/corpus (kept between runs), a crash in OUTDIR/crash-*.
#
# Exit status: 0 no crash, 1 a crash or a failed check (the input is
# saved; replay it with OUTDIR/fuzz_http FILE), 77 when clang, its fuzzer
# runtime or picohttpparser (libh2o-evloop) is missing.
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-30}
out=${2:-build-fuzz/fuzz}
CC=${FUZZ_CC:-clang}

skip() { echo "fuzz: skipped: $*"; exit 77; }
command -v "$CC" >/dev/null || skip "$CC not installed"
phr_libs=$(pkg-config --libs libh2o-evloop 2>/dev/null || echo -lh2o-evloop)
mkdir -p "$out/corpus"
echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n)
      { (void)d; return (int)n * 0; }' >"$out/probe.c"
"$CC" -fsanitize=fuzzer "$out/probe.c" -o "$out/probe" 2>/dev/null ||
    skip "$CC cannot link -fsanitize=fuzzer (libclang-rt-dev missing?)"

"$CC" -g -O1 -Wall -Wextra -Werror -D_GNU_SOURCE \
    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    -Iexamples -Iinclude \
    tests/fuzz/fuzz_http.c examples/httpd_proto.c $phr_libs \
    -o "$out/fuzz_http" 2>"$out/build.log" || {
    grep -q 'phr_parse_request' "$out/build.log" &&
        skip "picohttpparser (libh2o-evloop-dev) not found"
    cat "$out/build.log" >&2
    exit 1
}

echo "fuzz: fuzz_http for ${secs}s (corpus $out/corpus + tests/fuzz/corpus)"
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
"$out/fuzz_http" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
    -max_len=16384 -dict=tests/fuzz/http.dict -print_final_stats=1 \
    -artifact_prefix="$out/" "$out/corpus" tests/fuzz/corpus \
    2>"$out/fuzz.log" || {
    tail -n 60 "$out/fuzz.log" >&2
    echo "fuzz: FAILED; input saved as $(ls -t "$out"/crash-* "$out"/timeout-* \
        "$out"/oom-* 2>/dev/null | head -n 1)" >&2
    exit 1
}
grep -E '^#[0-9]+[[:space:]]+DONE|stat::number_of_executed_units|stat::peak_rss' \
    "$out/fuzz.log" || true
echo "fuzz: no crash; corpus $(ls "$out/corpus" | wc -l) inputs"
