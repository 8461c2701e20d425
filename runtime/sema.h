/*
 * runtime/sema.h: the semaphore table (sema.c) that the goroutine-level
 * sync primitives (sync.c) sleep on.
 */
#ifndef RINGO_RUNTIME_SEMA_H
#define RINGO_RUNTIME_SEMA_H

#include "wait.h"

/*
 * semacquire: wait until *addr > 0, then decrement it. With lifo the
 * caller queues at the head of addr's waiters (a mutex waiter that was
 * woken and lost the race). Parks with reason. From a goroutine only.
 */
void rg__semacquire(_Atomic uint32_t *addr, bool lifo, const char *reason);

/*
 * semrelease: increment *addr and wake the first waiter on addr. With
 * handoff, the unit goes straight to that waiter (if no one else takes
 * it first) and a calling goroutine yields to it, so it runs next (a
 * mutex in starvation mode). Any thread.
 */
void rg__semrelease(_Atomic uint32_t *addr, bool handoff);

/*
 * Notify lists (Go's notifyList), the waiting part of rg_cond. A waiter
 * takes a ticket with notify_add (while it still holds the condition's
 * mutex), drops the mutex, then sleeps in notify_wait until notify_one or
 * notify_all passes its ticket. Tickets make a wakeup that comes between
 * the two steps count. wait and notify are the rg_cond's words.
 */
uint32_t rg__notify_add(_Atomic uint32_t *wait);
void rg__notify_wait(_Atomic uint32_t *wait, _Atomic uint32_t *notify,
                     uint32_t ticket);
void rg__notify_one(_Atomic uint32_t *wait, _Atomic uint32_t *notify);
void rg__notify_all(_Atomic uint32_t *wait, _Atomic uint32_t *notify);

#endif
