/* SPDX-License-Identifier: ISC */
/* A bump allocator for inference memory: size first, then one allocation.
 *
 * A network lays out everything it needs (state, scratch, packed weights) with the
 * same layout function run twice: once on a sizing arena, which only counts bytes
 * and hands out NULL, then on a real arena of exactly that size. After that nothing
 * is allocated; processing only uses pointers handed out here.
 *
 *     ClvArena a;
 *     clv_arena_init_sizing(&a);
 *     my_layout(net, &a);                        // pointers are NULL here
 *     if (clv_arena_new(&a, clv_arena_used(&a)) != CLV_OK) ...;
 *     my_layout(net, &a);                        // real pointers now
 *     if (clv_arena_overflowed(&a)) ...;         // layout was not deterministic
 *     ...
 *     clv_arena_free(&a);
 *
 * Every block is aligned to CLV_ARENA_ALIGN bytes (a cache line, and enough for
 * any vector load) and zero-filled. The arena is a plain struct in caller storage. */
#ifndef CLV_ARENA_H
#define CLV_ARENA_H

#include <stddef.h>

#include "clv_common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CLV_ARENA_ALIGN 64

typedef struct {
    unsigned char *base; /* NULL for a sizing arena */
    size_t size;         /* capacity in bytes (0 for a sizing arena) */
    size_t used;         /* bytes handed out so far, including alignment padding */
    int owned;           /* base was allocated by clv_arena_new */
    int overflowed;      /* a request did not fit (or a size overflowed) */
} ClvArena;

/* Starts a sizing pass: allocations return NULL and only advance `used`.
 * Thread: any. */
void clv_arena_init_sizing(ClvArena *a);

/* Uses caller memory `mem` of `size` bytes; mem must be CLV_ARENA_ALIGN-aligned.
 * The caller keeps ownership. Thread: any. */
ClvStatus clv_arena_init(ClvArena *a, void *mem, size_t size);

/* Allocates one aligned block of `size` bytes (may be 0) and makes it the arena.
 * Free with clv_arena_free(). Thread: non-RT. */
ClvStatus clv_arena_new(ClvArena *a, size_t size);

/* Releases memory from clv_arena_new (nothing for caller memory) and clears the
 * struct. NULL or a cleared arena is a no-op. Thread: non-RT. */
void clv_arena_free(ClvArena *a);

/* Hands out `bytes` bytes, aligned and zeroed. Returns NULL on a sizing arena and
 * when the block does not fit (then clv_arena_overflowed() is true). Thread: the
 * owner of the arena (realtime-safe: no system allocation). */
CLV_RT void *clv_arena_alloc(ClvArena *a, size_t bytes);

/* clv_arena_alloc for n floats (n * sizeof(float) bytes, overflow-checked). */
CLV_RT float *clv_arena_floats(ClvArena *a, size_t n);

/* Bytes handed out so far (after a sizing pass: the size to allocate). Thread: any. */
size_t clv_arena_used(const ClvArena *a);

/* Nonzero when a request failed: the real pass asked for more than the sizing
 * pass counted, or a size computation overflowed. Thread: any. */
int clv_arena_overflowed(const ClvArena *a);

/* Scratch scopes: mark = clv_arena_mark(a); ...temporary allocations...;
 * clv_arena_release(a, mark) gives everything after the mark back.
 * Thread: owner of the arena, realtime-safe. */
CLV_RT size_t clv_arena_mark(const ClvArena *a);
CLV_RT void clv_arena_release(ClvArena *a, size_t mark);

#ifdef __cplusplus
}
#endif
#endif
