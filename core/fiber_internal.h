/* Fibers: stackful coroutines on pooled stacks with guard pages, the layer
 * tasks are built on. A context switch of our own on x86_64 and aarch64
 * (fiber_switch_*.S), ucontext elsewhere or when built with
 * -DCW_FIBER_UCONTEXT. A pool and its fibers belong to one thread.
 * An overflow into a guard page aborts with a message naming the fiber's
 * function (exported symbols only: link programs with -rdynamic). */
#ifndef CW_FIBER_INTERNAL_H
#define CW_FIBER_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#define CW_FIBER_DEFAULT_STACK (256 * 1024)

typedef struct cw_fiber cw_fiber;
typedef void (*cw_fiber_fn)(void *arg);

typedef struct cw_fiber_pool {
  size_t stack_size; /* usable bytes of each stack, a multiple of the page size */
  size_t per_batch;  /* stacks mapped at once */
  cw_fiber *free;    /* finished fibers whose stacks wait for reuse, the latest first */
  cw_fiber *batches; /* the first fiber of each batch, the latest first */
  char *uncut;       /* the next stack's guard page in the latest batch */
  size_t uncut_left; /* stacks of the latest batch not yet handed out */
  size_t mapped;     /* stacks handed out so far */
  size_t live;       /* fibers handed out and not yet freed */
} cw_fiber_pool;

/* Prepares an empty pool of stacks of stack_size bytes (0: the default),
 * rounded up to pages. Installs the overflow reporter on first use in the
 * process and an alternate signal stack for this thread if it has none. */
void cw_fiber_pool_init(cw_fiber_pool *pool, size_t stack_size);

/* Unmaps every stack. All fibers of the pool must have been freed. */
void cw_fiber_pool_destroy(cw_fiber_pool *pool);

/* A fiber that runs fn(arg) when first resumed, on a stack from the pool
 * (the one freed last, whose pages are the likeliest to be warm), starting
 * with the floating-point control state of whoever first resumes it (as a
 * thread has its creator's); NULL with errno set when no stack can be mapped. */
cw_fiber *cw_fiber_new(cw_fiber_pool *pool, cw_fiber_fn fn, void *arg);

/* Has an overflow report name fn instead of the fiber's function, for a
 * fiber function that wraps another (a task's). */
void cw_fiber_report_as(cw_fiber *f, void (*fn)(void));

/* Runs f from where it stopped until it yields or its function returns.
 * f must be neither finished nor running nor waiting on a fiber it resumed. */
void cw_fiber_resume(cw_fiber *f);

/* Starts loading the top of f's stack, where a suspended fiber's context
 * and its first frames are, for a caller about to resume it. */
void cw_fiber_prefetch(const cw_fiber *f);

/* Inside a fiber: back to whoever resumed it; returns when resumed again. */
void cw_fiber_yield(void);

/* The fiber running on this thread, NULL on the thread's own stack. */
cw_fiber *cw_fiber_current(void);

/* Whether f's function has returned. */
bool cw_fiber_done(const cw_fiber *f);

/* Gives f's stack back to its pool. f must not be running; a suspended
 * fiber is abandoned where it stands (nothing on its stack runs again). */
void cw_fiber_free(cw_fiber *f);

#endif
