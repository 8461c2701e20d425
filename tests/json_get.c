/*
 * tests/json_get.c: a strict JSON (RFC 8259) checker and value getter for
 * tests/test_loadgen.sh, so the tests need neither jq nor python.
 *
 *   json_get [PATH] < FILE
 *
 * Reads one JSON text from stdin. Exit 1 (with the byte offset on stderr)
 * when it is not valid JSON: exactly one value, nothing after it but
 * white space. With PATH (object keys and array indexes separated by
 * dots: "latency_us.p99", "status.200", "percentiles_us.3.1"), prints the
 * value there: a string without its quotes (escapes left as written),
 * anything else as its JSON text; exit 3 when there is no such value.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *src, *end;
static const char *found, *found_end;

static void ws(const char **p)
{
    while (*p < end &&
           (**p == ' ' || **p == '\t' || **p == '\n' || **p == '\r'))
        (*p)++;
}

static bool lit(const char **p, const char *w)
{
    size_t n = strlen(w);
    if ((size_t)(end - *p) < n || memcmp(*p, w, n) != 0)
        return false;
    *p += n;
    return true;
}

static bool is_digit(const char *p)
{
    return p < end && *p >= '0' && *p <= '9';
}

static bool number(const char **p)
{
    if (*p < end && **p == '-')
        (*p)++;
    if (!is_digit(*p))
        return false;
    if (**p == '0')
        (*p)++;
    else
        while (is_digit(*p))
            (*p)++;
    if (*p < end && **p == '.') {
        (*p)++;
        if (!is_digit(*p))
            return false;
        while (is_digit(*p))
            (*p)++;
    }
    if (*p < end && (**p == 'e' || **p == 'E')) {
        (*p)++;
        if (*p < end && (**p == '+' || **p == '-'))
            (*p)++;
        if (!is_digit(*p))
            return false;
        while (is_digit(*p))
            (*p)++;
    }
    return true;
}

static bool string(const char **p)
{
    if (*p >= end || **p != '"')
        return false;
    for ((*p)++; *p < end; (*p)++) {
        unsigned char c = (unsigned char)**p;
        if (c == '"') {
            (*p)++;
            return true;
        }
        if (c < 0x20)
            return false;
        if (c != '\\')
            continue;
        if (++*p >= end)
            return false;
        if (**p == 'u') {
            for (int i = 0; i < 4; i++)
                if (++*p >= end || !strchr("0123456789abcdefABCDEF", **p))
                    return false;
        } else if (!strchr("\"\\/bfnrt", **p)) {
            return false;
        }
    }
    return false;
}

/* Does the path component [c, ce) name the key string [k, ke) (quotes
   included)? */
static bool key_is(const char *k, const char *ke, const char *c, const char *ce)
{
    return ke - k - 2 == ce - c && !memcmp(k + 1, c, (size_t)(ce - c));
}

static bool value(const char **p, const char *path);

/* The rest of path after its first component, and that component. */
static const char *split(const char *path, const char **ce)
{
    const char *dot = strchr(path, '.');
    *ce = dot ? dot : path + strlen(path);
    return dot ? dot + 1 : "";
}

static bool object(const char **p, const char *path)
{
    const char *ce, *rest = path ? split(path, &ce) : NULL;
    (*p)++;
    ws(p);
    if (*p < end && **p == '}') {
        (*p)++;
        return true;
    }
    for (;;) {
        const char *k = *p;
        if (!string(p))
            return false;
        bool match = path && key_is(k, *p, path, ce);
        ws(p);
        if (*p >= end || **p != ':')
            return false;
        (*p)++;
        if (!value(p, match ? rest : NULL))
            return false;
        ws(p);
        if (*p < end && **p == ',') {
            (*p)++;
            ws(p);
            continue;
        }
        if (*p < end && **p == '}') {
            (*p)++;
            return true;
        }
        return false;
    }
}

static bool array(const char **p, const char *path)
{
    const char *ce, *rest = path ? split(path, &ce) : NULL;
    long want = -1;
    if (path) {
        char *e;
        want = strtol(path, &e, 10);
        if (e != ce || e == path)
            want = -1;
    }
    (*p)++;
    ws(p);
    if (*p < end && **p == ']') {
        (*p)++;
        return true;
    }
    for (long i = 0;; i++) {
        if (!value(p, i == want ? rest : NULL))
            return false;
        ws(p);
        if (*p < end && **p == ',') {
            (*p)++;
            ws(p);
            continue;
        }
        if (*p < end && **p == ']') {
            (*p)++;
            return true;
        }
        return false;
    }
}

/* A value at *p; path: what is left of the asked path when this value
   lies on it ("" when it is the asked value), else NULL. */
static bool value(const char **p, const char *path)
{
    ws(p);
    const char *start = *p;
    bool ok;
    if (*p >= end)
        return false;
    switch (**p) {
    case '{':
        ok = object(p, path && *path ? path : NULL);
        break;
    case '[':
        ok = array(p, path && *path ? path : NULL);
        break;
    case '"':
        ok = string(p);
        break;
    case 't':
        ok = lit(p, "true");
        break;
    case 'f':
        ok = lit(p, "false");
        break;
    case 'n':
        ok = lit(p, "null");
        break;
    default:
        ok = number(p);
    }
    if (ok && path && !*path) {
        found = start;
        found_end = *p;
    }
    return ok;
}

int main(int argc, char **argv)
{
    static char buf[1 << 22];
    size_t n = fread(buf, 1, sizeof(buf), stdin);
    if (n == sizeof(buf)) {
        fprintf(stderr, "json_get: input too large\n");
        return 1;
    }
    src = buf;
    end = buf + n;
    const char *p = src;
    const char *path = argc > 1 ? argv[1] : NULL;
    if (!value(&p, path ? path : NULL) || (ws(&p), p != end)) {
        fprintf(stderr, "json_get: invalid JSON at byte %ld\n",
                (long)(p - src));
        return 1;
    }
    if (!path)
        return 0;
    if (!found)
        return 3;
    if (*found == '"')
        printf("%.*s\n", (int)(found_end - found - 2), found + 1);
    else
        printf("%.*s\n", (int)(found_end - found), found);
    return 0;
}
