/*
 * tests/fuzz/replay.c: run a libFuzzer target over files without
 * libFuzzer: each argument is a file or a directory of files, each file
 * one input to LLVMFuzzerTestOneInput. Lets an ordinary build (gcc, any
 * sanitizer or none) replay the seed corpus and past crashes as a test.
 * Exits 0 when every input ran (a failing check aborts), 1 when an
 * argument could not be read.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Run one file. Returns 0, or -1 when it could not be read. */
static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    size_t cap = 4096, len = 0;
    uint8_t *buf = malloc(cap);
    size_t n;
    while (buf && (n = fread(buf + len, 1, cap - len, f)) > 0) {
        len += n;
        if (len == cap) {
            uint8_t *nb = realloc(buf, cap *= 2);
            if (!nb)
                free(buf);
            buf = nb;
        }
    }
    fclose(f);
    if (!buf)
        return -1;
    LLVMFuzzerTestOneInput(buf, len);
    free(buf);
    return 0;
}

/* Run path: a file, or every regular file in a directory. Returns the
   number of inputs run, or -1. */
static int replay(const char *path)
{
    DIR *d = opendir(path);
    if (!d)
        return replay_file(path) < 0 ? -1 : 1;
    int count = 0;
    struct dirent *e;
    char full[4096];
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(full, sizeof(full), "%s/%s", path, e->d_name);
        if (replay_file(full) < 0) {
            closedir(d);
            return -1;
        }
        count++;
    }
    closedir(d);
    return count;
}

int main(int argc, char **argv)
{
    int total = 0;
    for (int i = 1; i < argc; i++) {
        int n = replay(argv[i]);
        if (n < 0) {
            fprintf(stderr, "replay: cannot read %s\n", argv[i]);
            return 1;
        }
        total += n;
    }
    printf("replay: %d inputs passed\n", total);
    return 0;
}
