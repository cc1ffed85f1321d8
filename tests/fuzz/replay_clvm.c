/* SPDX-License-Identifier: ISC */
/* Replays every file of a fuzz corpus directory through the fuzz entry point
 * (fuzz_clvm.c) in a normal build: the regression test for the reader.
 * Usage: replay_clvm CORPUS_DIR */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
        return 2;
    }
    DIR *d = opendir(argv[1]);
    if (!d) {
        fprintf(stderr, "%s: cannot open corpus directory\n", argv[1]);
        return 1;
    }
    int files = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", argv[1], e->d_name);
        FILE *f = fopen(path, "rb");
        if (!f) continue;
        unsigned char *buf = NULL;
        size_t n = 0, cap = 0, r;
        unsigned char chunk[4096];
        while ((r = fread(chunk, 1, sizeof chunk, f)) > 0) {
            if (n + r > cap) {
                cap = (n + r) * 2;
                unsigned char *nb = realloc(buf, cap);
                if (!nb) {
                    free(buf);
                    fclose(f);
                    closedir(d);
                    return 1;
                }
                buf = nb;
            }
            memcpy(buf + n, chunk, r);
            n += r;
        }
        fclose(f);
        LLVMFuzzerTestOneInput(buf ? buf : (const uint8_t *)"", n);
        free(buf);
        files++;
    }
    closedir(d);
    printf("replayed %d corpus files without a crash or a broken invariant\n", files);
    /* An empty corpus means the test checks nothing: fail. */
    return files > 0 ? 0 : 1;
}
