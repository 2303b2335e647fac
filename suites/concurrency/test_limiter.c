/* The reusable limiter: FIFO order, counts, a limit of 0, and freeing it
 * with operations waiting and running. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "fixture.h"
#include "ops.h"
#include "record.h"

enum { N = 5 };
static int vals[N];
static script jobs[N];
static observer done[N] = {{"0", 0, {0}}, {"1", 0, {0}}, {"2", 0, {0}}, {"3", 0, {0}}, {"4", 0, {0}}};
static cw_limiter *limiter;

static int setup(void **state) {
  ops_reset();
  return loop_setup(state);
}
#define limiter_test(fn) cmocka_unit_test_setup_teardown(fn, setup, loop_teardown)

static cw_promise *job(void *arg) { return op_start(test_loop, arg, (size_t)((script *)arg - jobs)); }

/* rec_outcome, followed by the counts of the limiter: "[active/pending]". */
static cw_result counted(void *observer, cw_result in) {
  cw_result r = rec_outcome(observer, in);
  rec_fmt("[%zu/%zu]", cw_limiter_active(limiter), cw_limiter_pending(limiter));
  return r;
}

/* Queues jobs[0..n) with the given turns; done[i] sees job i's result through h. */
static void queue(size_t n, const unsigned *turns, cw_handler h) {
  for (size_t i = 0; i < n; i++) {
    jobs[i] = (script){turns[i], 0, &vals[i]};
    cw_detach(cw_then(cw_limit(limiter, job, &jobs[i]), h, h, &done[i]));
  }
}

static void main_fifo(void *arg) {
  (void)arg;
  static const unsigned turns[N] = {2, 0, 0, 1, 0};
  queue(N, turns, counted);
  rec_fmt("queued [%zu/%zu]", cw_limiter_active(limiter), cw_limiter_pending(limiter));
}

static void fifo_order_and_counts(void **state) {
  (void)state;
  limiter = cw_limiter_new(test_loop, 2);
  assert_int_equal(cw_run(test_loop, main_fifo, NULL), 0);
  /* Each settlement starts the oldest operation waiting: 2, 3, 4 in order. */
  assert_rec("+0 +1 queued [2/3] -1 +2 1:ok [2/2] -2 +3 2:ok [2/1] -0 +4 0:ok [2/0] "
             "-4 4:ok [1/0] -3 3:ok [0/0]");
  assert_int_equal(ops.peak, 2);
  for (int i = 0; i < N; i++)
    assert_ptr_equal(done[i].in.value, &vals[i]);
  /* Reusable: a second run through the same limiter. */
  rec_reset();
  assert_int_equal(cw_run(test_loop, main_fifo, NULL), 0);
  assert_rec("+0 +1 queued [2/3] -1 +2 1:ok [2/2] -2 +3 2:ok [2/1] -0 +4 0:ok [2/0] "
             "-4 4:ok [1/0] -3 3:ok [0/0]");
  cw_limiter_free(limiter);
}

static void main_unbounded(void *arg) {
  (void)arg;
  static const unsigned turns[3] = {1, 0, 0};
  queue(3, turns, counted);
  rec_fmt("queued [%zu/%zu]", cw_limiter_active(limiter), cw_limiter_pending(limiter));
}

static void limit_zero_is_unbounded(void **state) {
  (void)state;
  limiter = cw_limiter_new(test_loop, 0);
  assert_int_equal(cw_run(test_loop, main_unbounded, NULL), 0);
  assert_rec("+0 +1 +2 queued [3/0] -1 1:ok [2/0] -2 2:ok [1/0] -0 0:ok [0/0]");
  assert_int_equal(ops.peak, 3);
  cw_limiter_free(limiter);
}

/* Freed with one operation running and two waiting: the waiting ones reject
 * with UV_ECANCELED in order, the running one finishes, then the limiter goes. */
static void main_free_with_pending(void *arg) {
  (void)arg;
  limiter = cw_limiter_new(test_loop, 1);
  static const unsigned turns[3] = {1, 0, 0};
  queue(3, turns, rec_outcome);
  cw_limiter_free(limiter);
  rec("freed");
}

static void free_rejects_waiting_lets_running_finish(void **state) {
  (void)state;
  assert_int_equal(cw_run(test_loop, main_free_with_pending, NULL), 0);
  assert_rec("+0 freed 1:UV_ECANCELED 2:UV_ECANCELED -0 0:ok");
  assert_int_equal(ops.started, 1);
  assert_ptr_equal(done[0].in.value, &vals[0]);
}

/* An operation that is no promise rejects with CW_EMISUSE and frees its slot. */
static int null_line;

static cw_promise *no_promise(void *arg) {
  (void)arg;
  return NULL;
}

static void main_null_operation(void *arg) {
  (void)arg;
  limiter = cw_limiter_new(test_loop, 1);
  null_line = LINE_OF(cw_detach(cw_then(cw_limit(limiter, no_promise, NULL), counted, counted, &done[0])));
  jobs[1] = (script){0, 0, &vals[1]};
  cw_detach(cw_then(cw_limit(limiter, job, &jobs[1]), counted, counted, &done[1]));
}

static void operation_without_promise_rejects_with_emisuse(void **state) {
  (void)state;
  assert_int_equal(cw_run(test_loop, main_null_operation, NULL), CW_EMISUSE);
  misuse_report m = misuse_take();
  assert_string_equal(m.function, "cw_limit");
  assert_int_equal(m.line, null_line);
  assert_rec("+1 0:CW_EMISUSE [1/0] -1 1:ok [0/0]");
  cw_limiter_free(limiter);
}

static void null_arguments_are_misuse(void **state) {
  (void)state;
  assert_null(cw_limit(NULL, job, &jobs[0]));
  assert_string_equal(misuse_take().message, "the limiter is NULL");
  limiter = cw_limiter_new(test_loop, 1);
  assert_null(cw_limit(limiter, NULL, NULL));
  assert_string_equal(misuse_take().message, "the function is NULL");
  assert_null(cw_limiter_new(NULL, 1));
  assert_string_equal(misuse_take().function, "cw_limiter_new");
  assert_int_equal(cw_limiter_active(NULL) + cw_limiter_pending(NULL), 0);
  cw_limiter_free(NULL);
  cw_limiter_free(limiter);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      limiter_test(fifo_order_and_counts),
      limiter_test(limit_zero_is_unbounded),
      limiter_test(free_rejects_waiting_lets_running_finish),
      limiter_test(operation_without_promise_rejects_with_emisuse),
      limiter_test(null_arguments_are_misuse),
  };
  return cmocka_run_group_tests_name("limiter", tests, NULL, NULL);
}
