/* cw_retry: attempts, exact backoff delays, seeded jitter, the retryable
 * predicate, abort while waiting and while an attempt is in flight. */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "fixture.h"
#include "ops.h"
#include "record.h"

enum { MAX_CALLS = 8 };
static int value = 7;

/* An operation whose attempt k fails with errors[k] (0: fulfils). */
typedef struct flaky {
  int errors[MAX_CALLS];
  unsigned calls;
  uint64_t at[MAX_CALLS]; /* loop time of each attempt */
} flaky;

static flaky f;
static uint64_t delays[MAX_CALLS];
static unsigned waits;
static cw_signal *sig;
static observer retried = {"retry", 0, {0}};

static int setup(void **state) {
  f = (flaky){{0}, 0, {0}};
  waits = 0;
  sig = NULL;
  ops_reset();
  return loop_setup(state);
}
#define retry_test(fn) cmocka_unit_test_setup_teardown(fn, setup, loop_teardown)

static cw_promise *attempt(void *arg) {
  flaky *fl = arg;
  fl->at[fl->calls] = loop_now();
  int error = fl->errors[fl->calls++];
  rec_fmt("try%u", fl->calls);
  return error ? cw_rejected(test_loop, error) : cw_resolved(test_loop, &value);
}

static void note_wait(void *arg, unsigned attempt_no, int error, uint64_t delay) {
  assert_ptr_equal(arg, &f);
  assert_int_equal(attempt_no, f.calls);
  assert_int_equal(error, f.errors[attempt_no - 1]);
  delays[waits++] = delay;
  rec_fmt("wait%" PRIu64, delay);
}

static void main_retry(void *opts) { watch(cw_retry(test_loop, attempt, &f, opts), &retried); }

/* ---- attempts and delays ------------------------------------------------------- */

static void succeeds_on_third_attempt(void **state) {
  (void)state;
  f = (flaky){{UV_EIO, UV_ECONNRESET, 0}, 0, {0}};
  cw_retry_opts opts = {.base_ms = 2, .factor = 2, .on_retry = note_wait};
  assert_int_equal(cw_run(test_loop, main_retry, &opts), 0);
  assert_rec("try1 wait2 try2 wait4 try3 retry:ok");
  assert_ptr_equal(retried.in.value, &value);
  assert_true(f.at[1] - f.at[0] >= 2);
  assert_true(f.at[2] - f.at[1] >= 4);
  assert_int_equal(cw_loop_timers(test_loop, NULL, NULL), 0);
}

static void exhausted_rejects_with_last_error_delays_capped(void **state) {
  (void)state;
  f = (flaky){{UV_EIO, UV_EIO, UV_EIO, UV_EIO, UV_EPIPE, 0}, 0, {0}};
  cw_retry_opts opts = {.attempts = 5, .base_ms = 1, .factor = 3, .max_ms = 5, .on_retry = note_wait};
  assert_int_equal(cw_run(test_loop, main_retry, &opts), 0);
  assert_rec("try1 wait1 try2 wait3 try3 wait5 try4 wait5 try5 retry:UV_EPIPE");
  assert_int_equal(f.calls, 5);
  for (unsigned k = 1; k < 5; k++)
    assert_true(f.at[k] - f.at[k - 1] >= delays[k - 1]);
}

static void defaults_three_attempts_factor_two(void **state) {
  (void)state;
  f = (flaky){{UV_EIO, UV_EIO, UV_EIO, UV_EIO}, 0, {0}};
  cw_retry_opts opts = {.base_ms = 1, .on_retry = note_wait};
  assert_int_equal(cw_run(test_loop, main_retry, &opts), 0);
  assert_rec("try1 wait1 try2 wait2 try3 retry:UV_EIO");
}

static void null_options_succeed_at_once(void **state) {
  (void)state;
  assert_int_equal(cw_run(test_loop, main_retry, NULL), 0);
  assert_rec("try1 retry:ok");
}

/* The default base of 100 ms, seen without waiting: on_retry aborts. */
static void abort_in_on_retry(void *arg, unsigned attempt_no, int error, uint64_t delay) {
  note_wait(arg, attempt_no, error, delay);
  cw_signal_abort(sig, 0);
}

static void default_base_is_100ms(void **state) {
  (void)state;
  f.errors[0] = UV_EIO;
  sig = cw_signal_new(test_loop);
  cw_retry_opts opts = {.signal = sig, .on_retry = abort_in_on_retry};
  uint64_t start = loop_now();
  assert_int_equal(cw_run(test_loop, main_retry, &opts), 0);
  assert_rec("try1 wait100 retry:UV_ECANCELED");
  assert_int_equal(cw_loop_timers(test_loop, NULL, NULL), 0);
  assert_true(loop_now() - start < LONG_MS); /* no wait: the abort came first */
  cw_signal_free(sig);
}

/* ---- jitter --------------------------------------------------------------------- */

/* Runs a failing retry with full jitter on a loop seeded with seed; the
 * delays go to out. Returns the next number the generator gives after it. */
static uint64_t jittered_run(uint64_t seed, uint64_t out[3]) {
  f = (flaky){{UV_EIO, UV_EIO, UV_EIO, UV_EIO}, 0, {0}};
  waits = 0;
  cw_loop_seed(test_loop, seed);
  cw_retry_opts opts = {.attempts = 4, .base_ms = 4, .factor = 2, .jitter = 1, .on_retry = note_wait};
  assert_int_equal(cw_run(test_loop, main_retry, &opts), 0);
  for (int k = 0; k < 3; k++)
    out[k] = delays[k];
  return cw_random(test_loop);
}

static void jitter_draws_from_the_seeded_generator(void **state) {
  (void)state;
  uint64_t first[3], again[3], other[3], expected[3];
  uint64_t next = jittered_run(42, first);
  /* A replica of the draws: delay k is 4 * 2^k * (1 - u_k), truncated. */
  cw_loop_seed(test_loop, 42);
  for (int k = 0; k < 3; k++) {
    expected[k] = (uint64_t)((double)(4u << k) * (1 - cw_random_unit(test_loop)));
    assert_int_equal(first[k], expected[k]);
    assert_true(first[k] <= 4u << k);
  }
  assert_int_equal(cw_random(test_loop), next); /* exactly one draw per wait */
  assert_int_equal(jittered_run(42, again), next);
  assert_memory_equal(again, first, sizeof first);
  jittered_run(7, other);
  assert_memory_not_equal(other, first, sizeof first);
}

static void no_jitter_draws_nothing(void **state) {
  (void)state;
  cw_loop_seed(test_loop, 42);
  uint64_t first = cw_random(test_loop);
  cw_loop_seed(test_loop, 42);
  f = (flaky){{UV_EIO, 0}, 0, {0}};
  cw_retry_opts opts = {.base_ms = 1, .on_retry = note_wait};
  assert_int_equal(cw_run(test_loop, main_retry, &opts), 0);
  assert_rec("try1 wait1 try2 retry:ok");
  assert_int_equal(cw_random(test_loop), first);
}

/* ---- stopping early --------------------------------------------------------------- */

static bool retry_unless_einval(void *arg, int error) {
  assert_ptr_equal(arg, &f);
  rec_fmt("retryable?%s", cw_err_name(error));
  return error != UV_EINVAL;
}

static void retryable_stops_early(void **state) {
  (void)state;
  f = (flaky){{UV_EIO, UV_EINVAL, 0}, 0, {0}};
  cw_retry_opts opts = {.attempts = 5, .base_ms = 1, .retryable = retry_unless_einval, .on_retry = note_wait};
  assert_int_equal(cw_run(test_loop, main_retry, &opts), 0);
  assert_rec("try1 retryable?UV_EIO wait1 try2 retryable?UV_EINVAL retry:UV_EINVAL");
  assert_int_equal(f.calls, 2);
}

static void abort_now(void *arg) {
  (void)arg;
  rec("abort");
  cw_signal_abort(sig, UV_EPIPE);
  rec_fmt("timers=%zu", cw_loop_timers(test_loop, NULL, NULL));
}

static void main_abort_while_waiting(void *arg) {
  sig = cw_signal_new(test_loop);
  cw_retry_opts opts = {.base_ms = LONG_MS, .signal = sig, .on_retry = note_wait};
  main_retry(&opts);
  cw_set_immediate(test_loop, abort_now, arg);
}

static void abort_while_waiting_rejects_at_once(void **state) {
  (void)state;
  f.errors[0] = UV_EIO;
  uint64_t start = loop_now();
  assert_int_equal(cw_run(test_loop, main_abort_while_waiting, NULL), 0);
  assert_rec("try1 wait" TEXT(LONG_MS) " abort timers=0 retry:UV_EPIPE");
  assert_int_equal(f.calls, 1);
  assert_true(loop_now() - start < LONG_MS);
  cw_signal_free(sig);
}

/* Aborted while an attempt is in flight: it is awaited, its success is
 * dropped, and no further attempt starts. */
static const script slow_success = {1, 0, &value};

static cw_promise *slow_attempt(void *arg) {
  (void)arg;
  return op_start(test_loop, &slow_success, 0);
}

static void main_abort_in_flight(void *arg) {
  (void)arg;
  sig = cw_signal_new(test_loop);
  cw_retry_opts opts = {.base_ms = 1, .signal = sig};
  watch(cw_retry(test_loop, slow_attempt, NULL, &opts), &retried);
  cw_set_immediate(test_loop, abort_now, NULL);
}

static void abort_in_flight_waits_for_the_attempt(void **state) {
  (void)state;
  assert_int_equal(cw_run(test_loop, main_abort_in_flight, NULL), 0);
  assert_rec("+0 abort timers=1 -0 retry:UV_EPIPE"); /* timers: the attempt's immediate */
  assert_int_equal(ops.started, 1);
  cw_signal_free(sig);
}

static void aborted_signal_attempts_nothing(void **state) {
  (void)state;
  cw_signal *s = cw_signal_new(test_loop);
  cw_signal_abort(s, 0);
  cw_retry_opts opts = {.signal = s};
  cw_promise *p = cw_retry(test_loop, attempt, &f, &opts);
  assert_int_equal(cw_promise_state(p), CW_REJECTED);
  assert_int_equal(cw_promise_result(p).error, UV_ECANCELED);
  cw_release(p);
  assert_int_equal(f.calls, 0);
  cw_signal_free(s);
}

/* ---- misuse ------------------------------------------------------------------------- */

static cw_promise *no_promise(void *arg) {
  (void)arg;
  rec("try");
  return NULL;
}

static int null_line;

static void main_no_promise(void *arg) {
  (void)arg;
  null_line = LINE_OF(watch(cw_retry(test_loop, no_promise, NULL, NULL), &retried));
}

static void attempt_without_promise_is_not_retried(void **state) {
  (void)state;
  assert_int_equal(cw_run(test_loop, main_no_promise, NULL), CW_EMISUSE);
  misuse_report m = misuse_take();
  assert_string_equal(m.function, "cw_retry");
  assert_int_equal(m.line, null_line);
  assert_rec("try retry:CW_EMISUSE");
}

static void bad_arguments_are_misuse(void **state) {
  (void)state;
  assert_null(cw_retry(test_loop, NULL, NULL, NULL));
  assert_string_equal(misuse_take().message, "the function is NULL");
  assert_null(cw_retry(NULL, attempt, &f, NULL));
  assert_string_equal(misuse_take().message, "the loop is NULL");
  f = (flaky){{UV_EIO, 0}, 0, {0}};
  cw_retry_opts opts = {.base_ms = 1, .jitter = 2, .factor = -1, .on_retry = note_wait};
  assert_int_equal(cw_run(test_loop, main_retry, &opts), CW_EMISUSE);
  assert_string_equal(misuse_take().message, "factor -1 is negative");
  assert_string_equal(misuse_take().message, "jitter 2 is outside [0, 1]");
  assert_rec("try1 wait1 try2 retry:ok"); /* as the defaults: factor 2, no jitter */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      retry_test(succeeds_on_third_attempt),
      retry_test(exhausted_rejects_with_last_error_delays_capped),
      retry_test(defaults_three_attempts_factor_two),
      retry_test(null_options_succeed_at_once),
      retry_test(default_base_is_100ms),
      retry_test(jitter_draws_from_the_seeded_generator),
      retry_test(no_jitter_draws_nothing),
      retry_test(retryable_stops_early),
      retry_test(abort_while_waiting_rejects_at_once),
      retry_test(abort_in_flight_waits_for_the_attempt),
      retry_test(aborted_signal_attempts_nothing),
      retry_test(attempt_without_promise_is_not_retried),
      retry_test(bad_arguments_are_misuse),
  };
  return cmocka_run_group_tests_name("retry", tests, NULL, NULL);
}
