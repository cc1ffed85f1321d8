/* SPDX-License-Identifier: ISC */
/* Bump allocator for inference memory.
 *
 * A sizing arena has base == NULL and size == 0; it only advances `used` so the
 * same layout code yields the exact byte count. Blocks start at multiples of
 * CLV_ARENA_ALIGN from an aligned base and are zeroed when handed out, so a layout
 * pass also initialises state. Every size computation is overflow-checked: an
 * overflow marks the arena failed instead of wrapping. */
#include "clv_arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void clv_arena_init_sizing(ClvArena *a)
{
    memset(a, 0, sizeof *a);
}

ClvStatus clv_arena_init(ClvArena *a, void *mem, size_t size)
{
    if (!a || (!mem && size) || ((uintptr_t)mem % CLV_ARENA_ALIGN) != 0) return CLV_ERR_INVALID;
    memset(a, 0, sizeof *a);
    a->base = mem;
    a->size = size;
    return CLV_OK;
}

ClvStatus clv_arena_new(ClvArena *a, size_t size)
{
    if (!a) return CLV_ERR_INVALID;
    memset(a, 0, sizeof *a);
    /* aligned_alloc wants a multiple of the alignment and a nonzero size. */
    size_t alloc = size ? size : CLV_ARENA_ALIGN;
    if (alloc > SIZE_MAX - (CLV_ARENA_ALIGN - 1)) return CLV_ERR_NOMEM;
    alloc = (alloc + CLV_ARENA_ALIGN - 1) / CLV_ARENA_ALIGN * CLV_ARENA_ALIGN;
    void *p = aligned_alloc(CLV_ARENA_ALIGN, alloc);
    if (!p) return CLV_ERR_NOMEM;
    a->base = p;
    a->size = size;
    a->owned = 1;
    return CLV_OK;
}

void clv_arena_free(ClvArena *a)
{
    if (!a) return;
    if (a->owned) free(a->base);
    memset(a, 0, sizeof *a);
}

void *clv_arena_alloc(ClvArena *a, size_t bytes)
{
    if (!a) return NULL;
    size_t start = a->used;
    if (start % CLV_ARENA_ALIGN) {
        size_t pad = CLV_ARENA_ALIGN - start % CLV_ARENA_ALIGN;
        if (start > SIZE_MAX - pad) goto overflow;
        start += pad;
    }
    if (bytes > SIZE_MAX - start) goto overflow;
    size_t end = start + bytes;
    if (!a->base) {
        /* Sizing pass (or a real arena of size 0 that was never given memory). */
        if (a->size != 0) goto overflow;
        a->used = end;
        return NULL;
    }
    if (end > a->size) goto overflow;
    a->used = end;
    unsigned char *p = a->base + start;
    if (bytes) memset(p, 0, bytes);
    return p;
overflow:
    a->overflowed = 1;
    return NULL;
}

float *clv_arena_floats(ClvArena *a, size_t n)
{
    if (n > SIZE_MAX / sizeof(float)) {
        if (a) a->overflowed = 1;
        return NULL;
    }
    return clv_arena_alloc(a, n * sizeof(float));
}

size_t clv_arena_used(const ClvArena *a)
{
    return a ? a->used : 0;
}

int clv_arena_overflowed(const ClvArena *a)
{
    return a ? a->overflowed : 1;
}

size_t clv_arena_mark(const ClvArena *a)
{
    return a ? a->used : 0;
}

void clv_arena_release(ClvArena *a, size_t mark)
{
    if (a && mark <= a->used) a->used = mark;
}
