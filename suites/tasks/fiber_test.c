/* The fiber layer under tasks: switching, pooling, preserved state, overflow. */
#define _GNU_SOURCE
#include <errno.h>
#include <fenv.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "child.h"

#include "fiber_internal.h"

/* A log of who ran when, to compare with an exact expected sequence. */
static char trace[4096];

static void note(const char *fmt, ...) {
  va_list ap;
  size_t len = strlen(trace);
  va_start(ap, fmt);
  vsnprintf(trace + len, sizeof trace - len, fmt, ap);
  va_end(ap);
}

static int setup(void **state) {
  static cw_fiber_pool pool;
  cw_fiber_pool_init(&pool, 0);
  trace[0] = '\0';
  *state = &pool;
  return 0;
}

static int teardown(void **state) {
  cw_fiber_pool *pool = *state;
  assert_int_equal(pool->live, 0);
  cw_fiber_pool_destroy(pool);
  return 0;
}

static void ping(void *arg) {
  assert_ptr_equal(cw_fiber_current(), *(cw_fiber **)arg);
  for (int i = 1; i <= 3; i++) {
    note("f%d ", i);
    cw_fiber_yield();
  }
  note("f-end ");
}

static void test_ping_pong(void **state) {
  cw_fiber *f = cw_fiber_new(*state, ping, &f);
  assert_non_null(f);
  assert_null(cw_fiber_current());
  for (int i = 1; !cw_fiber_done(f); i++) {
    note("m%d ", i);
    cw_fiber_resume(f);
    assert_null(cw_fiber_current());
  }
  assert_string_equal(trace, "m1 f1 m2 f2 m3 f3 m4 f-end ");
  cw_fiber_free(f);
}

/* Fiber i yields i % 4 times before it ends. */
static void countdown(void *arg) {
  intptr_t id = (intptr_t)arg;
  for (intptr_t step = 0; step < id % 4; step++) {
    note("%d.%d ", (int)id, (int)step);
    cw_fiber_yield();
  }
  note("%d! ", (int)id);
}

static void test_interleaved(void **state) {
  enum { N = 6 };
  cw_fiber *fibers[N];
  for (intptr_t i = 0; i < N; i++) fibers[i] = cw_fiber_new(*state, countdown, (void *)i);
  for (int running = N; running > 0;) {
    running = 0;
    for (int i = 0; i < N; i++) {
      if (cw_fiber_done(fibers[i])) continue;
      cw_fiber_resume(fibers[i]);
      running += !cw_fiber_done(fibers[i]);
    }
  }
  assert_string_equal(trace,
                      "0! 1.0 2.0 3.0 4! 5.0 "
                      "1! 2.1 3.1 5! "
                      "2! 3.2 "
                      "3! ");
  for (int i = 0; i < N; i++) cw_fiber_free(fibers[i]);
}

/* A fiber that resumes another: each yield goes back to its own resumer. */
static void inner(void *arg) {
  (void)arg;
  note("inner1 ");
  cw_fiber_yield();
  note("inner2 ");
}

static void outer(void *arg) {
  cw_fiber *in = cw_fiber_new(arg, inner, NULL);
  cw_fiber *self = cw_fiber_current();
  note("outer1 ");
  cw_fiber_resume(in);
  assert_ptr_equal(cw_fiber_current(), self);
  note("outer2 ");
  cw_fiber_yield();
  cw_fiber_resume(in);
  assert_true(cw_fiber_done(in));
  cw_fiber_free(in);
  note("outer3 ");
}

static void test_nested(void **state) {
  cw_fiber *f = cw_fiber_new(*state, outer, *state);
  cw_fiber_resume(f);
  note("main ");
  cw_fiber_resume(f);
  assert_true(cw_fiber_done(f));
  assert_string_equal(trace, "outer1 inner1 outer2 main inner2 outer3 ");
  cw_fiber_free(f);
}

static void nothing(void *arg) {
  (void)arg;
}

static void test_pool_reuses_stacks(void **state) {
  cw_fiber_pool *pool = *state;
  cw_fiber *a = cw_fiber_new(pool, nothing, NULL), *b = cw_fiber_new(pool, nothing, NULL);
  assert_int_equal(pool->mapped, 2);
  assert_int_equal(pool->live, 2);
  cw_fiber_resume(a);
  cw_fiber_free(a);
  cw_fiber *c = cw_fiber_new(pool, nothing, NULL);
  assert_ptr_equal(c, a);
  assert_int_equal(pool->mapped, 2);
  cw_fiber *d = cw_fiber_new(pool, nothing, NULL);
  assert_int_equal(pool->mapped, 3);
  /* A stack abandoned while suspended is reusable too. */
  cw_fiber *e = cw_fiber_new(pool, ping, &e);
  cw_fiber_resume(e);
  cw_fiber_free(e);
  assert_ptr_equal(cw_fiber_new(pool, nothing, NULL), e);
  cw_fiber_resume(e);
  assert_true(cw_fiber_done(e));
  assert_int_equal(pool->mapped, 4);
  cw_fiber_free(b);
  cw_fiber_free(c);
  cw_fiber_free(d);
  cw_fiber_free(e);
  assert_int_equal(pool->live, 0);
}

static void test_stack_size_rounds_to_pages(void **state) {
  (void)state;
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  cw_fiber_pool pool;
  cw_fiber_pool_init(&pool, 3 * page + 1);
  assert_int_equal(pool.stack_size, 4 * page);
  cw_fiber_pool_destroy(&pool);
  cw_fiber_pool_init(&pool, 0);
  assert_int_equal(pool.stack_size, CW_FIBER_DEFAULT_STACK);
  cw_fiber_pool_destroy(&pool);
}

#if defined(__x86_64__) || defined(__aarch64__)
unsigned long cw_probe_callee_saved(void (*fn)(void *), void *arg, unsigned long seed);

enum { SEED_MAIN = 0x1000, SEED_FIBER = 0x2000 };

static void yield_from(void *arg) {
  (void)arg;
  cw_fiber_yield();
}

static void resume_it(void *arg) {
  cw_fiber_resume(arg);
}

static void probing(void *arg) {
  unsigned long *fiber_masks = arg;
  fiber_masks[0] = cw_probe_callee_saved(yield_from, NULL, SEED_FIBER);
  fiber_masks[1] = cw_probe_callee_saved(yield_from, NULL, SEED_FIBER + 0x100);
}

/* Each side fills every callee-saved register with its own values, then
 * switches to the other, which does the same: a register the switch failed
 * to restore shows the other side's value. */
static void test_callee_saved_registers(void **state) {
  unsigned long fiber_masks[2] = {~0ul, ~0ul};
  cw_fiber *f = cw_fiber_new(*state, probing, fiber_masks);
  assert_int_equal(cw_probe_callee_saved(resume_it, f, SEED_MAIN), 0);
  assert_int_equal(cw_probe_callee_saved(resume_it, f, SEED_MAIN + 0x100), 0);
  assert_int_equal(cw_probe_callee_saved(resume_it, f, SEED_MAIN + 0x200), 0);
  assert_true(cw_fiber_done(f));
  assert_int_equal(fiber_masks[0], 0);
  assert_int_equal(fiber_masks[1], 0);
  cw_fiber_free(f);
}
#else
static void test_callee_saved_registers(void **state) {
  (void)state;
  skip();
}
#endif

/* 1/3 rounded by the current mode, in SSE (or aarch64) double and in x87 (or
 * the platform's) long double: each depends on its own control register.
 * (Valgrind rounds to nearest whatever the mode: there only fegetround tells.) */
struct quotients {
  double d;
  long double ld;
};

static struct quotients third(void) {
  volatile double one = 1, three = 3;
  volatile long double lone = 1, lthree = 3;
  return (struct quotients){one / three, lone / lthree};
}

static void assert_rounding(int mode, struct quotients expected) {
  struct quotients q = third();
  assert_int_equal(fegetround(), mode);
  assert_true(q.d == expected.d);
  assert_true(q.ld == expected.ld);
}

static struct quotients up, down;

static void rounding_upward(void *arg) {
  (void)arg;
  assert_rounding(FE_DOWNWARD, down); /* inherited from its creator */
  fesetround(FE_UPWARD);
  for (int i = 0; i < 3; i++) {
    cw_fiber_yield();
    assert_rounding(FE_UPWARD, up);
  }
}

static void test_floating_point_control(void **state) {
  fesetround(FE_UPWARD);
  up = third();
  fesetround(FE_DOWNWARD);
  down = third();
  cw_fiber *f = cw_fiber_new(*state, rounding_upward, NULL);
  while (!cw_fiber_done(f)) {
    cw_fiber_resume(f);
    assert_rounding(FE_DOWNWARD, down);
  }
  fesetround(FE_TONEAREST);
  cw_fiber_free(f);
}

/* Each frame holds a 1 KiB buffer, so depth n needs more than n KiB. */
__attribute__((noinline)) static unsigned recurse(unsigned depth) {
  volatile unsigned char frame[1024];
  for (size_t i = 0; i < sizeof frame; i++) frame[i] = (unsigned char)(depth + i);
  unsigned below = depth > 1 ? recurse(depth - 1) : 0;
  return below + frame[depth % sizeof frame];
}

static void deep(void *arg) {
  unsigned *depth = arg;
  *depth = recurse(*depth);
}

static void test_deep_recursion(void **state) {
  cw_fiber_pool *pool = *state;
  unsigned depth = (unsigned)(pool->stack_size / 1024 / 2), expected = 0;
  for (unsigned d = 1; d <= depth; d++) expected += (unsigned char)(d + d % 1024);
  cw_fiber *f = cw_fiber_new(pool, deep, &depth);
  cw_fiber_resume(f);
  assert_true(cw_fiber_done(f));
  assert_int_equal(depth, expected);
  cw_fiber_free(f);
}

/* The fault handler is installed once per process and cmocka replaces
 * SIGSEGV handlers around each test, so faults are checked in a fresh
 * process: this program run again as "fiber_test MODE". */

void overflowing_task(void *arg) {
  *(int *)arg = overflow_recurse(0);
}

/* Static, so it has no name of its own to report. */
static void wrapper(void *arg) {
  overflowing_task(arg);
}

static int overflow_child(bool wrapped) {
  cw_fiber_pool pool;
  int result;
  cw_fiber_pool_init(&pool, 64 * 1024);
  cw_fiber *f = cw_fiber_new(&pool, wrapped ? wrapper : overflowing_task, &result);
  if (wrapped) cw_fiber_report_as(f, (void (*)(void))overflowing_task);
  cw_fiber_resume(f);
  return 0;
}

static void test_stack_overflow_is_reported(void **state) {
  (void)state;
  const char *modes[] = {"--overflow-child", "--overflow-child-wrapped"};
  for (size_t i = 0; i < sizeof modes / sizeof *modes; i++) {
    char report[4096];
    int status = run_self(modes[i], report, sizeof report);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGABRT);
    assert_non_null(strstr(report, "clockwork: stack overflow in task overflowing_task (stack 64 KiB) — raise it"));
  }
}

/* Any other fault, on the thread's stack or a fiber's, still reaches the
 * handler that was there before ours. */
static sigjmp_buf fault_escape;
static int *volatile wild = (int *)16;

static void on_fault(int sig) {
  (void)sig;
  siglongjmp(fault_escape, 1);
}

static void fault(void *arg) {
  (void)arg;
  *wild = 1;
}

static int fault_child(void) {
  cw_fiber_pool pool;
  volatile int caught = 0;
  signal(SIGSEGV, on_fault);
  cw_fiber_pool_init(&pool, 0);
  if (sigsetjmp(fault_escape, 1) == 0) fault(NULL);
  else caught++;
  if (sigsetjmp(fault_escape, 1) == 0) cw_fiber_resume(cw_fiber_new(&pool, fault, NULL));
  else caught++;
  fprintf(stderr, "caught %d\n", caught);
  return 0;
}

static void test_other_faults_are_chained(void **state) {
  (void)state;
  char output[256];
  int status = run_self("--fault-child", output, sizeof output);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);
  assert_string_equal(output, "caught 2\n");
}

/* 100k suspended fibers at once on 16 KiB stacks. */
enum { MANY = 100000 };

static void bump_twice(void *arg) {
  unsigned *count = arg;
  ++*count;
  cw_fiber_yield();
  ++*count;
}

static void test_hundred_thousand_fibers(void **state) {
  (void)state;
  cw_fiber_pool pool;
  cw_fiber_pool_init(&pool, 16 * 1024);
  cw_fiber **fibers = calloc(MANY, sizeof *fibers);
  unsigned *counts = calloc(MANY, sizeof *counts);
  assert_non_null(fibers);
  assert_non_null(counts);
  for (size_t i = 0; i < MANY; i++) {
    fibers[i] = cw_fiber_new(&pool, bump_twice, &counts[i]);
    if (!fibers[i])
      fail_msg("fiber %zu: %s (without guard regions, Linux < 6.13, each stack "
               "costs two VMAs: see vm.max_map_count)", i, strerror(errno));
    cw_fiber_resume(fibers[i]);
  }
  assert_int_equal(pool.live, MANY);
  for (size_t i = 0; i < MANY; i++) {
    assert_int_equal(counts[i], 1);
    cw_fiber_resume(fibers[i]);
    assert_true(cw_fiber_done(fibers[i]));
    assert_int_equal(counts[i], 2);
    cw_fiber_free(fibers[i]);
  }
  assert_int_equal(pool.mapped, MANY);
  cw_fiber_pool_destroy(&pool);
  free(fibers);
  free(counts);
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "--overflow-child") == 0) return overflow_child(false);
  if (argc > 1 && strcmp(argv[1], "--overflow-child-wrapped") == 0) return overflow_child(true);
  if (argc > 1 && strcmp(argv[1], "--fault-child") == 0) return fault_child();
  child_self = argv[0];
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_ping_pong, setup, teardown),
    cmocka_unit_test_setup_teardown(test_interleaved, setup, teardown),
    cmocka_unit_test_setup_teardown(test_nested, setup, teardown),
    cmocka_unit_test_setup_teardown(test_pool_reuses_stacks, setup, teardown),
    cmocka_unit_test(test_stack_size_rounds_to_pages),
    cmocka_unit_test_setup_teardown(test_callee_saved_registers, setup, teardown),
    cmocka_unit_test_setup_teardown(test_floating_point_control, setup, teardown),
    cmocka_unit_test_setup_teardown(test_deep_recursion, setup, teardown),
    cmocka_unit_test(test_stack_overflow_is_reported),
    cmocka_unit_test(test_other_faults_are_chained),
    cmocka_unit_test(test_hundred_thousand_fibers),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
