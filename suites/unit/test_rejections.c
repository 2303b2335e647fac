/* Unhandled rejections, as Node 20 in its default mode ("throw"): reported
 * once the queues have drained after the macrotask that rejected, with the
 * sites; a hook may take the reports instead, and a handler attached after
 * a report gives a handled-late notice. The JavaScript quoted beside each
 * test shows what Node does (log = console.log). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "capture.h"
#include "fixture.h"
#include "record.h"

/* Runs main on the test's loop with stderr captured; returns what cw_run
 * returned, and what was printed in *text. */
static int run_captured(cw_fn main, const char **text) {
  stderr_capture_begin();
  int rc = cw_run(test_loop, main, NULL);
  *text = stderr_capture_end();
  return rc;
}

/* The default report of an unhandled rejection. */
static void assert_printed_report(const char *text, const char *error, int created_at, int rejected_at) {
  char expected[1024];
  snprintf(expected, sizeof expected,
           "clockwork: unhandled rejection: %s\n  promise created at %s:%d\n  rejected at %s:%d\n", error, __FILE__,
           created_at, __FILE__, rejected_at);
  assert_string_equal(text, expected);
}

/* ---- the default: print, and stop the run -------------------------------- */

/*   const p = new Promise((_, r) => r(new Error('x')))
 *   queueMicrotask(() => log('drained'))
 *   setTimeout(() => log('never'), 0)
 * prints: drained, then the error with its stack; exits with status 1 */
static int created_at, rejected_at;

static void main_unhandled(void *arg) {
  (void)arg;
  cw_promise *p;
  created_at = LINE_OF(p = cw_promise_new(test_loop));
  rejected_at = LINE_OF(cw_reject(p, UV_ETIMEDOUT));
  cw_queue_microtask(test_loop, rec_fn, "drained");
  cw_set_timeout(test_loop, 0, rec_fn, "never");
}

static void unhandled_rejection_is_printed_and_stops_the_run(void **state) {
  (void)state;
  const char *text;
  assert_int_equal(run_captured(main_unhandled, &text), CW_EUNHANDLED);
  assert_printed_report(text, "UV_ETIMEDOUT (connection timed out)", created_at, rejected_at);
  assert_rec("drained");
}

/* ---- a handler attached during the same drain is in time ---------------- */

/*   const p = Promise.reject(new Error('x'))
 *   queueMicrotask(() => queueMicrotask(() => process.nextTick(() => queueMicrotask(() => p.catch(() => log('caught'))))))
 * prints: caught (no report) */
static cw_promise *rejected;
static observer caught = {"caught", 0, {0}};

static void attach_catch(void *arg) {
  (void)arg;
  cw_detach(cw_catch(rejected, rec_observe, &caught));
}

static void tick_then_attach(void *arg) { cw_queue_microtask(test_loop, attach_catch, arg); }
static void microtask_then_tick(void *arg) { cw_next_tick(test_loop, tick_then_attach, arg); }
static void microtask_then_microtask(void *arg) { cw_queue_microtask(test_loop, microtask_then_tick, arg); }

static void main_handled_in_the_same_drain(void *arg) {
  (void)arg;
  rejected = cw_rejected(test_loop, UV_EIO);
  cw_queue_microtask(test_loop, microtask_then_microtask, NULL);
}

static void handler_attached_in_the_same_drain_prevents_the_report(void **state) {
  (void)state;
  const char *text;
  assert_int_equal(run_captured(main_handled_in_the_same_drain, &text), 0);
  assert_string_equal(text, "");
  assert_rec("caught");
  assert_int_equal(caught.in.error, UV_EIO);
}

/* ---- a handler attached in a later macrotask is too late ----------------- */

/*   const p = Promise.reject(new Error('x'))
 *   setTimeout(() => { log('attach'); p.catch(() => log('caught')) }, 0)
 * prints: the error with its stack; exits with status 1 */
static int late_created_at, handler_at;

static void attach_late(void *arg) {
  rec(arg);
  handler_at = LINE_OF(cw_detach(cw_catch(rejected, rec_observe, &caught)));
}

static void main_handled_in_a_later_macrotask(void *arg) {
  (void)arg;
  late_created_at = LINE_OF(rejected = cw_rejected(test_loop, UV_ECONNREFUSED));
  cw_set_timeout(test_loop, 0, attach_late, "attach");
}

static void handler_attached_in_a_later_macrotask_is_too_late(void **state) {
  (void)state;
  const char *text;
  int rc = run_captured(main_handled_in_a_later_macrotask, &text);
  cw_release(rejected); /* never handed to the handler */
  assert_int_equal(rc, CW_EUNHANDLED);
  assert_rec("");
  assert_printed_report(text, "UV_ECONNREFUSED (connection refused)", late_created_at, late_created_at);
}

/* ---- cw_on_unhandled takes the reports; the run goes on ------------------- */

/*   process.on('unhandledRejection', () => log('unhandled'))
 *   process.on('rejectionHandled', () => log('late'))
 *   const p = Promise.reject(new Error('x'))
 *   setTimeout(() => { log('attach'); p.catch(() => log('caught')) }, 0)
 *   setTimeout(() => log('after'), 1)
 * prints: unhandled attach caught late after */
static cw_rejection reports[4];
static size_t reports_len;

static void take_report(void *arg, const cw_rejection *r) {
  (void)arg;
  rec(r->handled_late ? "late" : "unhandled");
  if (reports_len < sizeof reports / sizeof reports[0])
    reports[reports_len++] = *r;
}

static int hooked_created_at, hooked_rejected_at;

static void main_hooked(void *arg) {
  (void)arg;
  cw_on_unhandled(test_loop, take_report, NULL);
  hooked_created_at = LINE_OF(rejected = cw_promise_new(test_loop));
  hooked_rejected_at = LINE_OF(cw_reject(cw_ref(rejected), UV_ECONNRESET));
  cw_set_timeout(test_loop, 0, attach_late, "attach");
  cw_set_timeout(test_loop, 1, rec_fn, "after");
}

static void assert_sites(const cw_rejection *r, int error, int created, int rejected_line) {
  assert_int_equal(r->error, error);
  assert_string_equal(r->created_file, __FILE__);
  assert_int_equal(r->created_line, created);
  assert_string_equal(r->rejected_file, __FILE__);
  assert_int_equal(r->rejected_line, rejected_line);
}

static void hook_takes_reports_and_late_handlers_are_noticed(void **state) {
  (void)state;
  reports_len = 0;
  const char *text;
  assert_int_equal(run_captured(main_hooked, &text), 0);
  assert_string_equal(text, "");
  assert_rec("unhandled attach caught late after");
  assert_int_equal(reports_len, 2);
  assert_false(reports[0].handled_late);
  assert_sites(&reports[0], UV_ECONNRESET, hooked_created_at, hooked_rejected_at);
  assert_true(reports[1].handled_late);
  assert_sites(&reports[1], UV_ECONNRESET, hooked_created_at, hooked_rejected_at);
  assert_string_equal(reports[1].handler_file, __FILE__);
  assert_int_equal(reports[1].handler_line, handler_at);
}

/* ---- a rejection passed down a chain is reported once, for the last ----- */

/*   let reject; const p = new Promise((_, r) => { reject = r })
 *   const q = p.then(() => log('never')), r = q.then(() => log('never'))
 *   process.on('unhandledRejection', (e, which) => log('unhandled ' + name of which))
 *   reject(new Error('x'))
 * prints: unhandled r */
static int chain_last_at, chain_rejected_at;

static void main_chain(void *arg) {
  (void)arg;
  cw_on_unhandled(test_loop, take_report, NULL);
  cw_promise *p = cw_promise_new(test_loop);
  cw_promise *q = cw_then(cw_ref(p), rec_pass, NULL, "never"), *r;
  chain_last_at = LINE_OF(r = cw_then(q, rec_pass, NULL, "never"));
  cw_detach(r);
  chain_rejected_at = LINE_OF(cw_reject(p, UV_EIO));
}

static void propagation_reports_only_the_last_promise(void **state) {
  (void)state;
  reports_len = 0;
  assert_int_equal(cw_run(test_loop, main_chain, NULL), 0);
  assert_rec("unhandled");
  assert_int_equal(reports_len, 1);
  assert_false(reports[0].handled_late);
  /* created where the last link was; rejected where the rejection began */
  assert_sites(&reports[0], UV_EIO, chain_last_at, chain_rejected_at);
}

/* ---- cw_detach is not a handler; cw_catch is ----------------------------- */

/*   void Promise.reject(new Error('x'))          // still an unhandled rejection
 *   Promise.reject(new Error('y')).catch(() => {}) // handled */
static int detached_at;

static void main_detached(void *arg) {
  (void)arg;
  detached_at = LINE_OF(cw_detach(cw_rejected(test_loop, UV_EPIPE)));
}

static void detach_does_not_handle_a_rejection(void **state) {
  (void)state;
  const char *text;
  assert_int_equal(run_captured(main_detached, &text), CW_EUNHANDLED);
  assert_printed_report(text, "UV_EPIPE (broken pipe)", detached_at, detached_at);
}

static void main_caught(void *arg) {
  (void)arg;
  cw_detach(cw_catch(cw_rejected(test_loop, UV_EPIPE), rec_observe, &caught));
}

static void catch_handles_a_rejection(void **state) {
  (void)state;
  const char *text;
  assert_int_equal(run_captured(main_caught, &text), 0);
  assert_string_equal(text, "");
  assert_rec("caught");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      loop_test(unhandled_rejection_is_printed_and_stops_the_run),
      loop_test(handler_attached_in_the_same_drain_prevents_the_report),
      loop_test(handler_attached_in_a_later_macrotask_is_too_late),
      loop_test(hook_takes_reports_and_late_handlers_are_noticed),
      loop_test(propagation_reports_only_the_last_promise),
      loop_test(detach_does_not_handle_a_rejection),
      loop_test(catch_handles_a_rejection),
  };
  return cmocka_run_group_tests_name("rejections", tests, NULL, NULL);
}
