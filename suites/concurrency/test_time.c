/* cw_sleep and cw_timeout: who wins, and the timers left behind (none). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "fixture.h"
#include "ops.h"
#include "record.h"

static int value = 7;
static uint64_t started_at, settled_at;
static size_t timers_after; /* armed timers seen by the handler of the result */

/* rec_outcome, noting when and how many timers were still armed. */
static cw_result settled(void *observer, cw_result in) {
  settled_at = loop_now();
  timers_after = cw_loop_timers(test_loop, NULL, NULL);
  return rec_outcome(observer, in);
}

static void watch_settled(cw_promise *p, observer *o) { cw_detach(cw_then(p, settled, settled, o)); }

/* ---- sleep ----------------------------------------------------------------------- */

static observer slept = {"slept", 0, {0}};

static void main_sleep(void *arg) {
  (void)arg;
  started_at = loop_now();
  watch_settled(cw_sleep(test_loop, 3), &slept);
}

static void sleep_fulfils_after_ms(void **state) {
  (void)state;
  assert_int_equal(cw_run(test_loop, main_sleep, NULL), 0);
  assert_rec("slept:ok");
  assert_null(slept.in.value);
  assert_true(settled_at - started_at >= 3);
  assert_int_equal(timers_after, 0);
}

static cw_signal *sig;

static void abort_now(void *arg) {
  (void)arg;
  rec("abort");
  cw_signal_abort(sig, 0);
  timers_after = cw_loop_timers(test_loop, NULL, NULL);
}

static void main_sleep_aborted(void *arg) {
  (void)arg;
  sig = cw_signal_new(test_loop);
  watch(cw_sleep_signal(test_loop, LONG_MS, sig), &slept);
  cw_set_immediate(test_loop, abort_now, NULL);
}

static void sleep_abort_mid_flight_clears_its_timer(void **state) {
  (void)state;
  uint64_t start = loop_now();
  assert_int_equal(cw_run(test_loop, main_sleep_aborted, NULL), 0);
  assert_rec("abort slept:UV_ECANCELED");
  assert_int_equal(timers_after, 0);
  assert_true(loop_now() - start < LONG_MS);
  cw_signal_free(sig);
}

static void sleep_on_aborted_signal_rejects_at_once(void **state) {
  (void)state;
  cw_signal *s = cw_signal_new(test_loop);
  cw_signal_abort(s, UV_EPIPE);
  cw_promise *p = cw_sleep_signal(test_loop, LONG_MS, s);
  assert_int_equal(cw_promise_state(p), CW_REJECTED);
  assert_int_equal(cw_promise_result(p).error, UV_EPIPE);
  assert_int_equal(cw_loop_timers(test_loop, NULL, NULL), 0);
  watch(p, &slept);
  assert_rec(""); /* the handler runs in a job */
  assert_int_equal(cw_run(test_loop, NULL, NULL), 0);
  assert_rec("slept:UV_EPIPE");
  cw_signal_free(s);
}

/* ---- timeout --------------------------------------------------------------------- */

static observer timed = {"timed", 0, {0}};
static const script quick_ok = {1, 0, &value}, quick_error = {1, UV_EIO, NULL};

static void main_promise_wins(void *arg) {
  watch_settled(cw_timeout(op_start(test_loop, arg, 0), LONG_MS), &timed);
}

static void timeout_promise_wins_clears_timer(void **state) {
  (void)state;
  uint64_t start = loop_now();
  assert_int_equal(cw_run(test_loop, main_promise_wins, (void *)&quick_ok), 0);
  assert_rec("+0 -0 timed:ok");
  assert_ptr_equal(timed.in.value, &value);
  assert_int_equal(timers_after, 0);
  assert_true(loop_now() - start < LONG_MS); /* the loop did not wait for the deadline */
}

static void timeout_promise_rejection_wins(void **state) {
  (void)state;
  assert_int_equal(cw_run(test_loop, main_promise_wins, (void *)&quick_error), 0);
  assert_rec("+0 x0 timed:UV_EIO");
  assert_int_equal(timers_after, 0);
}

/* The deadline passes first: UV_ETIMEDOUT; the promise settles later with
 * a rejection that nobody else handles, and that is no unhandled rejection. */
static cw_promise *inner;

static cw_result timed_out(void *observer, cw_result in) {
  cw_result r = settled(observer, in);
  rec("inner rejects");
  cw_reject(inner, UV_EIO);
  return r;
}

static void main_timer_wins(void *arg) {
  (void)arg;
  started_at = loop_now();
  inner = cw_promise_new(test_loop);
  cw_detach(cw_then(cw_timeout(cw_ref(inner), 3), NULL, timed_out, &timed));
}

static void timeout_timer_wins(void **state) {
  (void)state;
  assert_int_equal(cw_run(test_loop, main_timer_wins, NULL), 0);
  assert_rec("timed:UV_ETIMEDOUT inner rejects");
  assert_true(settled_at - started_at >= 3);
  assert_int_equal(timers_after, 0);
}

static void main_settled_promise(void *arg) {
  (void)arg;
  watch_settled(cw_timeout(cw_resolved(test_loop, &value), LONG_MS), &timed);
}

static void timeout_of_a_settled_promise(void **state) {
  (void)state;
  assert_int_equal(cw_run(test_loop, main_settled_promise, NULL), 0);
  assert_rec("timed:ok");
  assert_int_equal(timers_after, 0);
}

/* In a task: await composes with both. On the real clock the deadline
 * (1 ms) comes first unless the process stalls between creating the sleep
 * and the deadline for the difference: 99 ms, not the few a busy machine
 * steals. */
static cw_result napper(void *arg) {
  (void)arg;
  cw_result r = cw_await(cw_timeout(cw_sleep(test_loop, 1), LONG_MS));
  rec_fmt("nap:%s", r.state == CW_FULFILLED ? "ok" : cw_err_name(r.error));
  r = cw_await(cw_timeout(cw_sleep(test_loop, 100), 1)); /* the loop still waits for the sleep */
  rec_fmt("long nap:%s", r.state == CW_FULFILLED ? "ok" : cw_err_name(r.error));
  return cw_ok(&value);
}

static observer task_done = {"task", 0, {0}};

static void main_task(void *arg) {
  (void)arg;
  watch(cw_spawn(test_loop, napper, NULL), &task_done);
}

static void await_sleep_and_timeout_in_a_task(void **state) {
  (void)state;
  assert_int_equal(cw_run(test_loop, main_task, NULL), 0);
  assert_rec("nap:ok long nap:UV_ETIMEDOUT task:ok");
  assert_int_equal(cw_loop_timers(test_loop, NULL, NULL), 0);
}

static void null_arguments_are_misuse(void **state) {
  (void)state;
  int at = LINE_OF(assert_null(cw_timeout(NULL, 1)));
  misuse_report m = misuse_take();
  assert_string_equal(m.function, "cw_timeout");
  assert_int_equal(m.line, at);
  assert_null(cw_sleep(NULL, 1));
  assert_string_equal(misuse_take().function, "cw_sleep");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      loop_test(sleep_fulfils_after_ms),
      loop_test(sleep_abort_mid_flight_clears_its_timer),
      loop_test(sleep_on_aborted_signal_rejects_at_once),
      loop_test(timeout_promise_wins_clears_timer),
      loop_test(timeout_promise_rejection_wins),
      loop_test(timeout_timer_wins),
      loop_test(timeout_of_a_settled_promise),
      loop_test(await_sleep_and_timeout_in_a_task),
      loop_test(null_arguments_are_misuse),
  };
  return cmocka_run_group_tests_name("time", tests, NULL, NULL);
}
