/* Fibers on pooled stacks: see fiber_internal.h.
 *
 * Each stack is a guard page at the bottom, the usable stack, and the
 * cw_fiber itself at the very top, so that a fiber costs no malloc, the
 * pool's free list threads through the stacks, and a suspended fiber whose
 * frames are shallow touches one page. Stacks are mapped in batches of 4 MiB
 * and handed out one by one, so that 100k stacks cost a few thousand mmap and
 * munmap calls (each munmap flushes TLBs on every CPU) rather than 100k.
 * Where the kernel has guard regions (MADV_GUARD_INSTALL, Linux 6.13) a
 * guard costs no VMA, so 100k stacks stay far below vm.max_map_count;
 * elsewhere the guard is an mprotect'ed page.
 *
 * A fiber's stack is laid out only when it first runs, and its function is
 * called from the switch itself (cw_fiber_start), to which it returns when
 * it finishes, without saving a context: a task that never suspends costs a
 * call and a return, each with half a switch. */
#define _GNU_SOURCE
#include "fiber_internal.h"

#include <assert.h>
#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#if !defined(CW_FIBER_UCONTEXT) && !defined(__x86_64__) && !defined(__aarch64__)
#define CW_FIBER_UCONTEXT
#endif
#ifdef CW_FIBER_UCONTEXT
#include <ucontext.h>
#endif

#ifndef __has_feature
#define __has_feature(x) 0
#endif
#if defined(__SANITIZE_ADDRESS__) || __has_feature(address_sanitizer)
#define CW_FIBER_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif

#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#else
#define VALGRIND_STACK_REGISTER(lo, hi) 0u
#define VALGRIND_STACK_DEREGISTER(id) ((void)(id))
#define RUNNING_ON_VALGRIND 0
#endif

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#endif

#define ALTSTACK_SIZE (64 * 1024)
#define BATCH_BYTES (4 * 1024 * 1024) /* stacks mapped at once, guard pages included */
#define PREFETCH_BYTES 512 /* the top of a stack holding a shallow fiber's frames and context */

struct cw_fiber {
#ifdef CW_FIBER_UCONTEXT
  ucontext_t context;
#else
  void *sp; /* saved stack pointer while switched out */
#endif
  cw_fiber *resumer; /* whom to switch back to; NULL unless active */
  cw_fiber_fn fn;
  void *arg;
  void (*report_as)(void); /* the function an overflow report names, if not fn */
  cw_fiber_pool *pool; /* NULL for a thread's own context */
  cw_fiber *next_free;
  cw_fiber *older_batch; /* in the first fiber of each batch: the batch mapped before */
  char *stack_lo;      /* lowest usable byte, just above the guard page */
  size_t stack_bytes;  /* usable bytes, up to this struct */
  unsigned valgrind_id;
  bool unstarted; /* its function has not begun: nothing is saved yet */
  bool done;
#ifdef CW_FIBER_ASAN
  void *fake_stack;    /* ASan's fake frames while switched out */
  const void *asan_bottom; /* learned on first switch for a thread's own context */
  size_t asan_size;
#endif
};

/* Two ways to leave the running context: a plain switch, and the start of
 * a fiber, which calls fiber_main on the fiber's empty stack with the
 * floating-point control state of whoever starts it (as a new thread has its
 * creator's); fiber_main ends by switching to whom the finished fiber
 * returns to, saving nothing. */
#ifdef CW_FIBER_UCONTEXT
static void fiber_main(void);

static void context_switch(cw_fiber *from, cw_fiber *to) {
  swapcontext(&from->context, &to->context);
}

static void context_start(cw_fiber *from, cw_fiber *to) {
  getcontext(&to->context);
  to->context.uc_stack.ss_sp = to->stack_lo;
  to->context.uc_stack.ss_size = to->stack_bytes;
  to->context.uc_link = NULL;
  makecontext(&to->context, fiber_main, 0);
  swapcontext(&from->context, &to->context);
}
#else
/* fiber_main returns the stack pointer to switch to. */
static void *fiber_main(void);
void cw_fiber_switch(void **save_sp, void *load_sp);
void cw_fiber_start(void **save_sp, void *top, void *(*entry)(void));

static void context_switch(cw_fiber *from, cw_fiber *to) {
  cw_fiber_switch(&from->sp, to->sp);
}

/* The stack ends where the fiber begins, 64-byte aligned. */
static void context_start(cw_fiber *from, cw_fiber *to) {
  cw_fiber_start(&from->sp, to, fiber_main);
}
#endif

static size_t page_size;
static struct sigaction previous_segv;

static _Thread_local cw_fiber thread_context;
static _Thread_local cw_fiber *current; /* NULL: thread_context */
static _Thread_local unsigned altstack_users;
static _Thread_local void *altstack_mine;

/* Formats for the overflow report without stdio: it runs in a signal handler. */
static char *append(char *out, const char *end, const char *s) {
  while (*s && out < end) *out++ = *s++;
  return out;
}

static char *append_number(char *out, const char *end, uintptr_t n, unsigned base) {
  char digits[2 * sizeof n + 1], *d = digits + sizeof digits - 1;
  *d = '\0';
  do *--d = "0123456789abcdef"[n % base]; while ((n /= base) != 0);
  return append(out, end, d);
}

static void report_overflow(const cw_fiber *f) {
  char msg[512], *out = msg, *end = msg + sizeof msg;
  void *fn = f->report_as ? (void *)(uintptr_t)f->report_as : (void *)(uintptr_t)f->fn;
  Dl_info info;
  out = append(out, end, "clockwork: stack overflow in task ");
  if (dladdr(fn, &info) && info.dli_sname) {
    out = append(out, end, info.dli_sname);
  } else {
    out = append(out, end, "0x");
    out = append_number(out, end, (uintptr_t)fn, 16);
  }
  out = append(out, end, " (stack ");
  out = append_number(out, end, f->pool->stack_size / 1024, 10);
  out = append(out, end, " KiB) — raise it with cw_loop_set_stack_size\n");
  (void)!write(STDERR_FILENO, msg, (size_t)(out - msg));
}

static void on_segv(int sig, siginfo_t *info, void *ucontext) {
  const cw_fiber *f = current;
  const char *addr = info->si_addr;
  if (f && addr < f->stack_lo && addr >= f->stack_lo - page_size) {
    report_overflow(f);
    abort();
  }
  if (previous_segv.sa_flags & SA_SIGINFO) {
    previous_segv.sa_sigaction(sig, info, ucontext);
  } else if (previous_segv.sa_handler == SIG_DFL || previous_segv.sa_handler == SIG_IGN) {
    /* Returning re-executes the faulting access, which now takes the default action. */
    signal(SIGSEGV, SIG_DFL);
  } else {
    previous_segv.sa_handler(sig);
  }
}

static void install_segv_handler(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_segv;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigemptyset(&sa.sa_mask);
  page_size = (size_t)sysconf(_SC_PAGESIZE);
  sigaction(SIGSEGV, &sa, &previous_segv);
}

/* An overflowing fiber has no stack left for the handler: give the thread an
 * alternate one, unless it has one already (ASan installs its own). */
static void altstack_acquire(void) {
  stack_t ss;
  if (altstack_users++ > 0 || sigaltstack(NULL, &ss) != 0 || !(ss.ss_flags & SS_DISABLE))
    return;
  ss.ss_sp = mmap(NULL, ALTSTACK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (ss.ss_sp == MAP_FAILED) return;
  ss.ss_size = ALTSTACK_SIZE;
  ss.ss_flags = 0;
  if (sigaltstack(&ss, NULL) == 0) altstack_mine = ss.ss_sp;
  else munmap(ss.ss_sp, ALTSTACK_SIZE);
}

static void altstack_release(void) {
  stack_t ss;
  if (--altstack_users > 0 || !altstack_mine) return;
  if (sigaltstack(NULL, &ss) == 0 && ss.ss_sp == altstack_mine) {
    ss.ss_flags = SS_DISABLE;
    sigaltstack(&ss, NULL);
  }
  munmap(altstack_mine, ALTSTACK_SIZE);
  altstack_mine = NULL;
}

void cw_fiber_pool_init(cw_fiber_pool *pool, size_t stack_size) {
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  pthread_once(&once, install_segv_handler);
  if (stack_size == 0) stack_size = CW_FIBER_DEFAULT_STACK;
  pool->stack_size = (stack_size + page_size - 1) & ~(page_size - 1);
  size_t stride = page_size + pool->stack_size;
  pool->per_batch = BATCH_BYTES > stride ? BATCH_BYTES / stride : 1;
  pool->free = NULL;
  pool->batches = NULL;
  pool->uncut = NULL;
  pool->uncut_left = 0;
  pool->mapped = 0;
  pool->live = 0;
  altstack_acquire();
}

void cw_fiber_pool_destroy(cw_fiber_pool *pool) {
  assert(pool->live == 0);
  /* each fiber is on a page of its own: walk them only when it matters */
  if (RUNNING_ON_VALGRIND)
    for (cw_fiber *f = pool->free; f; f = f->next_free)
      VALGRIND_STACK_DEREGISTER(f->valgrind_id);
  size_t batch_bytes = pool->per_batch * (page_size + pool->stack_size);
  while (pool->batches) {
    cw_fiber *first = pool->batches;
    pool->batches = first->older_batch;
    munmap(first->stack_lo - page_size, batch_bytes);
  }
  altstack_release();
}

/* The next stack of the current batch, mapping a new batch when it is used
 * up: one mapping holds many stacks, each with its guard page below it. */
static cw_fiber *cut_stack(cw_fiber_pool *pool) {
  size_t stride = page_size + pool->stack_size;
  bool first = pool->uncut_left == 0;
  if (first) {
    char *batch = mmap(NULL, pool->per_batch * stride, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (batch == MAP_FAILED) return NULL;
    pool->uncut = batch;
    pool->uncut_left = pool->per_batch;
  }
  char *base = pool->uncut;
  if (madvise(base, page_size, MADV_GUARD_INSTALL) != 0 && mprotect(base, page_size, PROT_NONE) != 0) {
    if (first) {
      munmap(base, pool->per_batch * stride);
      pool->uncut_left = 0;
    }
    return NULL;
  }
  pool->uncut += stride;
  pool->uncut_left--;
  cw_fiber *f = (cw_fiber *)((uintptr_t)(base + stride - sizeof(cw_fiber)) & ~(uintptr_t)63);
  f->pool = pool; /* the rest of a fresh mapping is zero */
  f->stack_lo = base + page_size;
  f->stack_bytes = (size_t)((char *)f - f->stack_lo);
  f->valgrind_id = VALGRIND_STACK_REGISTER(f->stack_lo, (char *)f);
#ifdef CW_FIBER_ASAN
  f->asan_bottom = f->stack_lo;
  f->asan_size = f->stack_bytes;
#endif
  if (first) {
    f->older_batch = pool->batches;
    pool->batches = f;
  }
  pool->mapped++;
  return f;
}

/* Switches from the running context to another. */
static void switch_to(cw_fiber *from, cw_fiber *to) {
  current = to->pool ? to : NULL;
#ifdef CW_FIBER_ASAN
  __sanitizer_start_switch_fiber(&from->fake_stack, to->asan_bottom, to->asan_size);
#endif
  if (to->unstarted) {
    to->unstarted = false;
    context_start(from, to);
  } else {
    context_switch(from, to);
  }
#ifdef CW_FIBER_ASAN
  __sanitizer_finish_switch_fiber(from->fake_stack, NULL, NULL);
#endif
}

/* Runs the function of the fiber just started; returns whom to switch back
 * to once it has finished. */
static cw_fiber *fiber_run(void) {
  cw_fiber *f = current;
#ifdef CW_FIBER_ASAN
  /* The first switch into a fiber is how ASan tells us the resumer's stack,
   * which a thread's own context needs when it is switched back to. */
  __sanitizer_finish_switch_fiber(NULL, &f->resumer->asan_bottom, &f->resumer->asan_size);
#endif
  f->fn(f->arg);
  f->done = true;
  cw_fiber *to = f->resumer;
  f->resumer = NULL;
  current = to->pool ? to : NULL;
#ifdef CW_FIBER_ASAN
  __sanitizer_start_switch_fiber(NULL, to->asan_bottom, to->asan_size); /* frees f's fake frames */
#endif
  return to;
}

#ifdef CW_FIBER_UCONTEXT
static void fiber_main(void) {
  setcontext(&fiber_run()->context);
}
#else
static void *fiber_main(void) {
  return fiber_run()->sp;
}
#endif

cw_fiber *cw_fiber_new(cw_fiber_pool *pool, cw_fiber_fn fn, void *arg) {
  cw_fiber *f = pool->free;
  if (f) pool->free = f->next_free;
  else if (!(f = cut_stack(pool))) return NULL;
  pool->live++;
#ifdef CW_FIBER_ASAN
  /* A reused stack keeps the poisoned redzones of frames that never returned. */
  ASAN_UNPOISON_MEMORY_REGION(f->stack_lo, f->stack_bytes);
#endif
  f->fn = fn;
  f->arg = arg;
  f->report_as = NULL;
  f->done = false;
  f->unstarted = true;
  return f;
}

void cw_fiber_report_as(cw_fiber *f, void (*fn)(void)) {
  f->report_as = fn;
}

void cw_fiber_resume(cw_fiber *f) {
  assert(f->pool && !f->done && !f->resumer);
  cw_fiber *self = current ? current : &thread_context;
  f->resumer = self;
  switch_to(self, f);
}

void cw_fiber_yield(void) {
  cw_fiber *f = current;
  assert(f);
  cw_fiber *to = f->resumer;
  f->resumer = NULL;
  switch_to(f, to);
}

void cw_fiber_prefetch(const cw_fiber *f) {
#pragma GCC unroll 16
  for (int offset = 0; offset < PREFETCH_BYTES; offset += 64)
    __builtin_prefetch((const char *)f - offset, 1);
}

cw_fiber *cw_fiber_current(void) {
  return current;
}

bool cw_fiber_done(const cw_fiber *f) {
  return f->done;
}

void cw_fiber_free(cw_fiber *f) {
  assert(f != current && !f->resumer);
  cw_fiber_pool *pool = f->pool;
  pool->live--;
  f->next_free = pool->free;
  pool->free = f;
}
