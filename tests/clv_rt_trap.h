/* SPDX-License-Identifier: ISC */
/* Realtime trap for tests: links into a test program and interposes malloc, calloc,
 * realloc, free, posix_memalign, aligned_alloc, pthread mutex/rwlock/cond waits and
 * the basic file I/O calls. Between clv_trap_enter() and clv_trap_leave() on the
 * calling thread, every such call is counted (and the first few are reported). */
#ifndef CLV_RT_TRAP_H
#define CLV_RT_TRAP_H

/* Marks the calling thread as the audio thread until clv_trap_leave(). */
void clv_trap_enter(void);
void clv_trap_leave(void);
/* Forbidden calls seen so far on trapped threads. */
long clv_trap_count(void);
/* Calls of malloc seen on any thread (proves the interposition works). */
long clv_trap_total_mallocs(void);

#endif
