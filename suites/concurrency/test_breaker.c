/* The circuit breaker: opening after consecutive failures, rejecting
 * without calling while open, half-open after reset_ms with a bounded
 * number of trials, closing on success and re-opening on failure. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "fixture.h"
#include "ops.h"
#include "record.h"

enum { MAX_CALLS = 16 };
static int value = 7;
static cw_breaker *brk;
static script calls[MAX_CALLS]; /* call i follows calls[i] */
static size_t ncalls, next;
static observer outcome[MAX_CALLS];
static char labels[MAX_CALLS][4];

static int setup(void **state) {
  ops_reset();
  ncalls = next = 0;
  for (int i = 0; i < MAX_CALLS; i++) {
    snprintf(labels[i], sizeof labels[i], "%d", i);
    outcome[i] = (observer){labels[i], 0, {0}};
  }
  return loop_setup(state);
}
#define breaker_test(fn) cmocka_unit_test_setup_teardown(fn, setup, loop_teardown)

static const char *state_name(cw_breaker_state s) {
  return s == CW_BREAKER_CLOSED ? "closed" : s == CW_BREAKER_OPEN ? "open" : "half-open";
}

static cw_promise *service(void *arg) { return op_start(test_loop, arg, (size_t)((script *)arg - calls)); }

/* rec_outcome, followed by the state: "3:UV_EIO/open". */
static cw_result with_state(void *observer, cw_result in) {
  cw_result r = rec_outcome(observer, in);
  rec_fmt("/%s", state_name(cw_breaker_get_state(brk)));
  return r;
}

/* Calls the breaker for calls[i]; h sees the outcome. */
static void call(size_t i, cw_handler h) {
  cw_detach(cw_then(cw_breaker_call(brk, service, &calls[i]), h, h, &outcome[i]));
}

/* Makes the calls one after another, each once the previous one settled. */
static cw_result call_next(void *observer, cw_result in) {
  if (observer)
    with_state(observer, in);
  if (next < ncalls)
    call(next++, call_next);
  return cw_ok(NULL);
}

static void sequence(const int *errors, size_t n) {
  for (size_t i = 0; i < n; i++)
    calls[i] = (script){0, errors[i], &value};
  ncalls = n;
}

static void main_sequence(void *arg) {
  (void)arg;
  call_next(NULL, cw_ok(NULL));
}

/* ---- closed to open ------------------------------------------------------------ */

static void opens_after_consecutive_failures(void **state) {
  (void)state;
  brk = cw_breaker_new(test_loop, &(cw_breaker_opts){.failure_threshold = 3, .reset_ms = LONG_MS});
  static const int errors[] = {UV_EIO, UV_EIO, 0, UV_EIO, UV_EIO, UV_EIO, 0, 0};
  sequence(errors, 8);
  uint64_t start = loop_now();
  assert_int_equal(cw_run(test_loop, main_sequence, NULL), 0);
  /* The success resets the count; open, calls 6 and 7 are not made. */
  assert_rec("+0 x0 0:UV_EIO /closed +1 x1 1:UV_EIO /closed +2 -2 2:ok /closed "
             "+3 x3 3:UV_EIO /closed +4 x4 4:UV_EIO /closed +5 x5 5:UV_EIO /open "
             "6:CW_EOPEN /open 7:CW_EOPEN /open");
  assert_int_equal(ops.started, 6);
  assert_true(loop_now() - start < LONG_MS); /* an open breaker keeps no timer */
  assert_int_equal(cw_breaker_get_state(brk), CW_BREAKER_OPEN);
  cw_breaker_free(brk);
}

static void defaults_open_after_five(void **state) {
  (void)state;
  brk = cw_breaker_new(test_loop, NULL);
  static const int errors[] = {UV_EIO, UV_EIO, UV_EIO, UV_EIO, UV_EIO, 0};
  sequence(errors, 6);
  assert_int_equal(cw_run(test_loop, main_sequence, NULL), 0);
  assert_rec("+0 x0 0:UV_EIO /closed +1 x1 1:UV_EIO /closed +2 x2 2:UV_EIO /closed "
             "+3 x3 3:UV_EIO /closed +4 x4 4:UV_EIO /open 5:CW_EOPEN /open");
  cw_breaker_free(brk);
}

/* ---- half-open ------------------------------------------------------------------ */

/* Polls the state every millisecond until it is half-open, then calls then(). */
static uint64_t opened_before, half_open_at;
static cw_timer *poller;
static cw_fn then_fn;

static void poll_state(void *arg) {
  (void)arg;
  if (cw_breaker_get_state(brk) != CW_BREAKER_HALF_OPEN)
    return;
  half_open_at = loop_now();
  cw_clear(poller);
  rec("half-open");
  then_fn(NULL);
}

static cw_result poll_after(void *observer, cw_result in) {
  rec_outcome(observer, in);
  poller = cw_set_interval(test_loop, 1, poll_state, NULL);
  return cw_ok(NULL);
}

/* Fails once (threshold 1) and polls until half-open. */
static void fail_then_poll(cw_fn then) {
  calls[0] = (script){0, UV_EIO, NULL};
  then_fn = then;
  opened_before = loop_now();
  call(0, poll_after);
}

/* Three calls at once: two trials go through, the third is refused. */
static void trials(void *arg) {
  (void)arg;
  for (size_t i = 1; i <= 3; i++) {
    calls[i] = (script){1, 0, &value};
    call(i, with_state);
  }
}

static void main_half_open(void *arg) {
  (void)arg;
  fail_then_poll(trials);
}

static void half_open_lets_trials_through_and_success_closes(void **state) {
  (void)state;
  brk = cw_breaker_new(test_loop, &(cw_breaker_opts){.failure_threshold = 1, .reset_ms = 5, .half_open_max = 2});
  assert_int_equal(cw_run(test_loop, main_half_open, NULL), 0);
  /* The first trial's success closes; the second one's, counted in a
   * half-open period that is over, changes nothing. */
  assert_rec("+0 x0 0:UV_EIO half-open +1 +2 3:CW_EOPEN /half-open -1 1:ok /closed -2 2:ok /closed");
  assert_true(half_open_at - opened_before >= 5);
  assert_int_equal(ops.started, 3);
  cw_breaker_free(brk);
}

/* A failed trial re-opens and restarts reset_ms: half-open again no
 * earlier than reset_ms after the trial started. */
static uint64_t trial_before;

static void second_half_open(void *arg) {
  (void)arg;
  rec("again");
}

static cw_result reopened(void *observer, cw_result in) {
  then_fn = second_half_open;
  return poll_after(observer, in);
}

static void failing_trial(void *arg) {
  (void)arg;
  calls[1] = (script){0, UV_EPIPE, NULL};
  trial_before = loop_now();
  call(1, reopened);
}

static void main_reopen(void *arg) {
  (void)arg;
  fail_then_poll(failing_trial);
}

static void failed_trial_reopens_and_restarts_reset(void **state) {
  (void)state;
  brk = cw_breaker_new(test_loop, &(cw_breaker_opts){.failure_threshold = 1, .reset_ms = 5});
  assert_int_equal(cw_run(test_loop, main_reopen, NULL), 0);
  assert_rec("+0 x0 0:UV_EIO half-open +1 x1 1:UV_EPIPE half-open again");
  assert_true(half_open_at - trial_before >= 5);
  cw_breaker_free(brk);
}

/* A call started while closed that succeeds during the half-open period
 * does not close the breaker: only trials decide. */
static cw_promise *late;

static cw_promise *late_service(void *arg) {
  (void)arg;
  rec("+late");
  return cw_ref(late);
}

static void settle_late_then_trial(void *arg) {
  (void)arg;
  cw_resolve(late, &value);
  calls[2] = (script){0, 0, &value};
  call(2, with_state);
}

static void main_stale_outcome(void *arg) {
  (void)arg;
  late = cw_promise_new(test_loop);
  cw_detach(cw_then(cw_breaker_call(brk, late_service, NULL), with_state, with_state, &outcome[9]));
  fail_then_poll(settle_late_then_trial);
}

static void outcome_counts_only_in_its_state(void **state) {
  (void)state;
  brk = cw_breaker_new(test_loop, &(cw_breaker_opts){.failure_threshold = 1, .reset_ms = 2});
  assert_int_equal(cw_run(test_loop, main_stale_outcome, NULL), 0);
  assert_rec("+late +0 x0 0:UV_EIO half-open +2 9:ok /half-open -2 2:ok /closed");
  cw_breaker_free(brk);
}

/* ---- lifetime and misuse ------------------------------------------------------------ */

static void main_free_in_flight(void *arg) {
  (void)arg;
  brk = cw_breaker_new(test_loop, NULL);
  calls[0] = (script){1, 0, &value};
  watch(cw_breaker_call(brk, service, &calls[0]), &outcome[0]);
  cw_breaker_free(brk);
  rec("freed");
}

static void free_with_call_in_flight(void **state) {
  (void)state;
  assert_int_equal(cw_run(test_loop, main_free_in_flight, NULL), 0);
  assert_rec("+0 freed -0 0:ok");
  assert_ptr_equal(outcome[0].in.value, &value);
}

static cw_promise *no_promise(void *arg) {
  (void)arg;
  return NULL;
}

static void main_no_promise(void *arg) {
  (void)arg;
  call(0, with_state);
  watch(cw_breaker_call(brk, no_promise, NULL), &outcome[1]);
}

static void bad_arguments_are_misuse(void **state) {
  (void)state;
  assert_null(cw_breaker_call(NULL, service, &calls[0]));
  assert_string_equal(misuse_take().message, "the breaker is NULL");
  assert_int_equal(cw_breaker_get_state(NULL), CW_BREAKER_CLOSED);
  assert_string_equal(misuse_take().function, "cw_breaker_get_state");
  assert_null(cw_breaker_new(NULL, NULL));
  assert_string_equal(misuse_take().function, "cw_breaker_new");
  brk = cw_breaker_new(test_loop, &(cw_breaker_opts){.failure_threshold = 1, .reset_ms = LONG_MS});
  assert_null(cw_breaker_call(brk, NULL, NULL));
  assert_string_equal(misuse_take().message, "the function is NULL");
  /* No promise from fn: a failure, which opens this breaker. */
  calls[0] = (script){0, 0, &value};
  assert_int_equal(cw_run(test_loop, main_no_promise, NULL), CW_EMISUSE);
  assert_string_equal(misuse_take().function, "cw_breaker_call");
  assert_rec("+0 1:CW_EMISUSE -0 0:ok /open");
  cw_breaker_free(brk);
  cw_breaker_free(NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      breaker_test(opens_after_consecutive_failures),
      breaker_test(defaults_open_after_five),
      breaker_test(half_open_lets_trials_through_and_success_closes),
      breaker_test(failed_trial_reopens_and_restarts_reset),
      breaker_test(outcome_counts_only_in_its_state),
      breaker_test(free_with_call_in_flight),
      breaker_test(bad_arguments_are_misuse),
  };
  return cmocka_run_group_tests_name("breaker", tests, NULL, NULL);
}
