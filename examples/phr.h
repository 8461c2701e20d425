/*
 * examples/phr.h: picohttpparser's request parser, as httpd uses it.
 *
 * Debian's libh2o-evloop exports picohttpparser's functions but ships no
 * picohttpparser.h; where the header exists (meson defines
 * HAVE_PICOHTTPPARSER_H) it is used, else the two declarations below,
 * which are picohttpparser's published API, unchanged since its first
 * release. meson checks that the library really exports the symbol.
 */
#ifndef RINGO_EXAMPLES_PHR_H
#define RINGO_EXAMPLES_PHR_H

#ifdef HAVE_PICOHTTPPARSER_H
#include <picohttpparser.h>
#else
#include <stddef.h>

/* One header line. A continuation line (obs-fold) has name NULL. */
struct phr_header {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
};

/*
 * Parse the request line and headers at buf[0..len). In: *num_headers is
 * the capacity of headers; last_len is how much of buf an earlier call
 * already saw (0: none). Returns the bytes of the request head (through
 * the blank line), -2 when it is incomplete, -1 when it is malformed (or
 * has more headers than fit). Pointers point into buf.
 */
int phr_parse_request(const char *buf, size_t len, const char **method,
                      size_t *method_len, const char **path, size_t *path_len,
                      int *minor_version, struct phr_header *headers,
                      size_t *num_headers, size_t last_len);
#endif

#endif
