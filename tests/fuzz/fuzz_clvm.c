/* SPDX-License-Identifier: ISC */
/* libFuzzer entry point for the .clvm reader. Build and run: tests/fuzz/run.sh.
 * The same function replays the committed corpus in normal builds
 * (replay_clvm.c, meson test models_fuzz_replay*).
 *
 * Every accepted file is exercised through the whole public API and its
 * invariants are checked: a violation traps, which the fuzzer reports. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clv_clvm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(c)                                                                    \
    do {                                                                              \
        if (!(c)) {                                                                   \
            fprintf(stderr, "fuzz_clvm: invariant failed: %s (line %d)\n", #c, __LINE__); \
            abort();                                                                  \
        }                                                                             \
    } while (0)

static int messages;

static void count_log(void *user, ClvLogLevel level, const char *msg)
{
    (void)user;
    (void)level;
    REQUIRE(msg != NULL && strlen(msg) > 0);
    messages++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ClvLog log = {count_log, NULL};
    ClvClvm *m = NULL;
    messages = 0;
    ClvStatus st = clv_clvm_load_memory(data, size, "fuzz.clvm", &log, &m);
    if (st != CLV_OK) {
        REQUIRE(m == NULL);
        REQUIRE(messages == 1); /* exactly one message for a refused file */
        return 0;
    }
    REQUIRE(m != NULL && messages == 0);
    for (int i = 0; i < clv_clvm_meta_count(m); i++) {
        const char *key;
        ClvMetaType type;
        REQUIRE(clv_clvm_meta_entry(m, i, &key, &type) == CLV_OK);
        REQUIRE(clv_clvm_has_meta(m, key));
        const char *s;
        int64_t iv;
        double dv;
        const char *const *list;
        const int64_t *ints;
        int n = -1;
        switch (type) {
        case CLV_META_STRING:
            REQUIRE(clv_clvm_meta_string(m, key, &s) == CLV_OK && strlen(s) < size);
            REQUIRE(clv_clvm_meta_int(m, key, &iv) == CLV_ERR_FORMAT);
            break;
        case CLV_META_INT:
            REQUIRE(clv_clvm_meta_int(m, key, &iv) == CLV_OK);
            REQUIRE(clv_clvm_meta_float(m, key, &dv) == CLV_OK);
            break;
        case CLV_META_FLOAT:
            REQUIRE(clv_clvm_meta_float(m, key, &dv) == CLV_OK);
            break;
        case CLV_META_STRINGS:
            REQUIRE(clv_clvm_meta_strings(m, key, &list, &n) == CLV_OK && n >= 0);
            for (int k = 0; k < n; k++) REQUIRE(strlen(list[k]) < size);
            break;
        case CLV_META_INTS:
            REQUIRE(clv_clvm_meta_ints(m, key, &ints, &n) == CLV_OK && n >= 0);
            for (int k = 0; k < n; k++) iv = ints[k];
            break;
        default:
            REQUIRE(0);
        }
        (void)iv;
    }
    for (int i = 0; i < clv_clvm_tensor_count(m); i++) {
        ClvTensorInfo t, u;
        REQUIRE(clv_clvm_tensor_at(m, i, &t) == CLV_OK);
        REQUIRE(clv_clvm_find(m, t.name, &u) == CLV_OK && u.data == t.data);
        REQUIRE(t.ndim >= 0 && t.ndim <= CLV_CLVM_MAX_DIMS && t.count >= 1);
        REQUIRE(((uintptr_t)t.data % 64) == 0);
        int64_t count = 1;
        for (int d = 0; d < t.ndim; d++) count *= t.dims[d];
        REQUIRE(count == t.count);
        REQUIRE((size_t)count * (t.stored == CLV_DTYPE_F16 ? 2u : 4u) <= size);
        float acc = 0.0f;
        for (int64_t k = 0; k < t.count; k++) {
            REQUIRE(t.data[k] == t.data[k]); /* no NaN passes */
            acc += t.data[k];
        }
        (void)acc;
        const float *p;
        REQUIRE(clv_clvm_bind(m, t.name, t.ndim, t.dims, &p) == CLV_OK && p == t.data);
        if (t.ndim < CLV_CLVM_MAX_DIMS) {
            int64_t wrong[CLV_CLVM_MAX_DIMS];
            memcpy(wrong, t.dims, sizeof wrong);
            wrong[t.ndim] = 1;
            messages = 0;
            REQUIRE(clv_clvm_bind(m, t.name, t.ndim + 1, wrong, &p) == CLV_ERR_SHAPE && p == NULL);
            REQUIRE(messages == 1);
            messages = 0;
        }
    }
    clv_clvm_free(m);
    return 0;
}
