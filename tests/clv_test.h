/* SPDX-License-Identifier: ISC */
/* Minimal test helpers: checks that always run (unlike assert) and count failures. */
#ifndef CLV_TEST_H
#define CLV_TEST_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static int clv_test_failures;

#define CHECK(cond, ...)                                                          \
    do {                                                                          \
        if (!(cond)) {                                                            \
            fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                         \
            fputc('\n', stderr);                                                  \
            clv_test_failures++;                                                  \
        }                                                                         \
    } while (0)

/* Exit status for meson: 0 pass, 1 fail. */
#define TEST_DONE()                                                               \
    do {                                                                          \
        if (clv_test_failures) fprintf(stderr, "%d check(s) failed\n", clv_test_failures); \
        return clv_test_failures ? 1 : 0;                                         \
    } while (0)

/* Meson's "skipped" status. */
#define TEST_SKIP 77

#endif
