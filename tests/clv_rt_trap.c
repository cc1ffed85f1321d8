/* SPDX-License-Identifier: ISC */
/* Interposers for the realtime trap. Symbols defined in the executable take
 * precedence over libc's for every library in the process (FFTW, soxr, ...), so
 * calls made deep inside dependencies are caught too. The originals are reached
 * through glibc's __libc_* entry points or dlsym(RTLD_NEXT). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "clv_rt_trap.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);
extern void *__libc_memalign(size_t, size_t);

static _Thread_local int trapped;
static atomic_long hits;
static atomic_long mallocs;

void clv_trap_enter(void) { trapped = 1; }
void clv_trap_leave(void) { trapped = 0; }
long clv_trap_count(void) { return atomic_load(&hits); }
long clv_trap_total_mallocs(void) { return atomic_load(&mallocs); }

static void hit(const char *what)
{
    long n = atomic_fetch_add(&hits, 1);
    if (n < 5) {
        /* write(2) directly: stdio might allocate */
        char msg[96];
        int len = snprintf(msg, sizeof msg, "RT TRAP: %s called on the audio thread\n", what);
        trapped = 0;
        if (len > 0) (void)!write(2, msg, (size_t)len);
        trapped = 1;
    }
}

void *malloc(size_t n)
{
    atomic_fetch_add_explicit(&mallocs, 1, memory_order_relaxed);
    if (trapped) hit("malloc");
    return __libc_malloc(n);
}
void *calloc(size_t a, size_t b)
{
    if (trapped) hit("calloc");
    return __libc_calloc(a, b);
}
void *realloc(void *p, size_t n)
{
    if (trapped) hit("realloc");
    return __libc_realloc(p, n);
}
void free(void *p)
{
    if (trapped && p) hit("free");
    __libc_free(p);
}
int posix_memalign(void **out, size_t al, size_t n)
{
    if (trapped) hit("posix_memalign");
    void *p = __libc_memalign(al, n);
    if (!p) return 12;
    *out = p;
    return 0;
}
void *aligned_alloc(size_t al, size_t n)
{
    if (trapped) hit("aligned_alloc");
    return __libc_memalign(al, n);
}

static int (*real_pthread_mutex_lock)(pthread_mutex_t *);
static int (*real_pthread_mutex_trylock)(pthread_mutex_t *);
static int (*real_pthread_rwlock_rdlock)(pthread_rwlock_t *);
static int (*real_pthread_rwlock_wrlock)(pthread_rwlock_t *);
static int (*real_pthread_cond_wait)(pthread_cond_t *, pthread_mutex_t *);
static ssize_t (*real_write)(int, const void *, size_t);
static ssize_t (*real_read)(int, void *, size_t);
static FILE *(*real_fopen)(const char *, const char *);

/* Resolved on first use, not in a constructor: libraries initialised before this
 * executable's constructors run (libgfortran, pulled in by OpenBLAS) already lock
 * mutexes. */
#define REAL(fn) \
    (real_##fn ? real_##fn : (*(void **)&real_##fn = dlsym(RTLD_NEXT, #fn), real_##fn))

int pthread_mutex_lock(pthread_mutex_t *m)
{
    if (trapped) hit("pthread_mutex_lock");
    return REAL(pthread_mutex_lock)(m);
}
int pthread_mutex_trylock(pthread_mutex_t *m)
{
    if (trapped) hit("pthread_mutex_trylock");
    return REAL(pthread_mutex_trylock)(m);
}
int pthread_rwlock_rdlock(pthread_rwlock_t *l)
{
    if (trapped) hit("pthread_rwlock_rdlock");
    return REAL(pthread_rwlock_rdlock)(l);
}
int pthread_rwlock_wrlock(pthread_rwlock_t *l)
{
    if (trapped) hit("pthread_rwlock_wrlock");
    return REAL(pthread_rwlock_wrlock)(l);
}
int pthread_cond_wait(pthread_cond_t *c, pthread_mutex_t *m)
{
    if (trapped) hit("pthread_cond_wait");
    return REAL(pthread_cond_wait)(c, m);
}
ssize_t write(int fd, const void *b, size_t n)
{
    if (trapped) hit("write");
    return REAL(write)(fd, b, n);
}
ssize_t read(int fd, void *b, size_t n)
{
    if (trapped) hit("read");
    return REAL(read)(fd, b, n);
}
FILE *fopen(const char *p, const char *m)
{
    if (trapped) hit("fopen");
    return REAL(fopen)(p, m);
}
