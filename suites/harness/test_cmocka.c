/* clockwork/cmocka.h: tests of a few lines with the fixture; teardown
 * checks that fail a test unless allowed; and a group run in a child process,
 * to show that its failures fail it under meson test. */
#include <clockwork/cmocka.h>

#include "harness_fixture.h"

/* ---- typical tests ------------------------------------------------------------------ */

static void predict_order(void **state) {
  cw_harness *h = cw_test_harness(state);
  loop = cw_harness_loop(h);
  assert_int_equal(cw_harness_run(h, predict_order_script, NULL), 0);
  assert_trace(h, "A E C D B");
}

static cw_harness *run_predict_order(void **state) {
  cw_harness *h = cw_test_harness(state);
  loop = cw_harness_loop(h);
  assert_int_equal(cw_harness_run(h, predict_order_script, NULL), 0);
  return h;
}

static void predict_order_relations(void **state) {
  cw_harness *h = run_predict_order(state);
  assert_trace_before(h, "E", "C");
  assert_trace_phase(h, "C", CW_PHASE_MICROTASK);
  assert_trace_phase(h, "B", CW_PHASE_TIMERS);
  assert_trace_same_macrotask(h, "A", "D");
}

static const cw_harness_opts allow_timers = {.allow = CW_ALLOW_TIMERS};

static void a_timer_left_armed_on_purpose(void **state) {
  cw_harness *h = cw_test_harness(state);
  cw_set_timeout(cw_harness_loop(h), 10, trace_fn, "never");
  assert_int_equal(cw_clock_timer_count(h), 1);
}

/* ---- teardown checks ------------------------------------------------------------------ */

#define LINE_OF(call) ((void)(call), __LINE__)

/* Leaks one thing on h's loop and writes the failure teardown reports for
 * it; allowed tells whether h's options allow it. */
typedef struct leak {
  unsigned allow; /* the option that allows it */
  void (*make)(cw_harness *h, bool allowed, char *report, size_t size);
} leak;

static void leak_timer(cw_harness *h, bool allowed, char *report, size_t size) {
  (void)allowed;
  int line = LINE_OF(cw_set_timeout(cw_harness_loop(h), 10, trace_fn, "never"));
  snprintf(report, size, "timeout created at %s:%d still armed (no timers may leak from a test)", __FILE__, line);
}

static void leak_promise(cw_harness *h, bool allowed, char *report, size_t size) {
  (void)allowed;
  int line = LINE_OF(cw_promise_new(cw_harness_loop(h)));
  snprintf(report, size, "floating promise created at %s:%d (pending, 1 reference never consumed)", __FILE__, line);
}

static int await_line;

static cw_result wait_forever(void *never) {
  await_line = __LINE__ + 1;
  return cw_await(never);
}

static void leak_task(cw_harness *h, bool allowed, char *report, size_t size) {
  (void)allowed;
  cw_loop *l = cw_harness_loop(h);
  int line = LINE_OF(cw_detach(cw_spawn(l, wait_forever, cw_promise_new(l))));
  snprintf(report, size, "task spawned at %s:%d still suspended at %s:%d", __FILE__, line, __FILE__, await_line);
}

static int reject_line;

static void reject_unhandled(void *arg) {
  (void)arg;
  reject_line = LINE_OF(cw_detach(cw_rejected(loop, UV_ECONNRESET)));
}

static void leak_rejection(cw_harness *h, bool allowed, char *report, size_t size) {
  loop = cw_harness_loop(h);
  assert_int_equal(cw_harness_run(h, reject_unhandled, NULL), allowed ? 0 : CW_EUNHANDLED);
  snprintf(report, size,
           "unhandled rejection UV_ECONNRESET (connection reset by peer) of the promise created at %s:%d, rejected at "
           "%s:%d",
           __FILE__, reject_line, __FILE__, reject_line);
}

static const leak timer = {CW_ALLOW_TIMERS, leak_timer}, promise = {CW_ALLOW_FLOATING, leak_promise},
                  task = {CW_ALLOW_TASKS, leak_task}, rejection = {CW_ALLOW_UNHANDLED, leak_rejection};

static void leak_fails_teardown(void **state) {
  const leak *l = *state;
  capture_reset();
  cw_harness_opts opts = capture_opts(0);
  cw_harness *h = cw_harness_new(&opts);
  assert_non_null(h);
  char report[1024];
  l->make(h, false, report, sizeof report);
  cw_harness_free_at(h, "site.c", 20);
  expect_failure("site.c", 20, report);
  assert_int_equal(unchecked_failures(), 0);
}

static void leak_allowed(void **state) {
  const leak *l = *state;
  capture_reset();
  cw_harness_opts opts = capture_opts(l->allow);
  cw_harness *h = cw_harness_new(&opts);
  assert_non_null(h);
  char report[1024];
  l->make(h, true, report, sizeof report);
  cw_harness_free(h);
  assert_int_equal(unchecked_failures(), 0);
}

/* ---- a failing group, run in a child ----------------------------------------------------- */

/* Its assertion and its leak are on the lines named, for the parent to check. */
enum { WRONG_ORDER_LINE = __LINE__ + 1 };
static void wrong_order(void **state) { assert_trace(run_predict_order(state), "A B C D E"); }

enum { LEAKED_TIMER_LINE = __LINE__ + 1 };
static void leaked_timer(void **state) { cw_set_timeout(cw_harness_loop(cw_test_harness(state)), 9, trace_fn, "no"); }

static int run_failing_group(void) {
  const struct CMUnitTest tests[] = {cw_test(predict_order), cw_test(wrong_order), cw_test(leaked_timer)};
  return cmocka_run_group_tests_name("failing", tests, NULL, NULL);
}

static void expect_line(const char *output, const char *line) {
  char *at = strstr(output, line);
  if (!at || (at != output && at[-1] != '\n') || at[strlen(line)] != '\n')
    fail_msg("no line \"%s\" in:\n%s", line, output);
}

static void failures_fail_the_tests_under_tap(void **state) {
  (void)state;
  static char output[65536];
  setenv("CMOCKA_MESSAGE_OUTPUT", "TAP", 1);
  int status = run_self("failing-group", output, sizeof output);
  unsetenv("CMOCKA_MESSAGE_OUTPUT");
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 2);
  expect_line(output, "1..3");
  expect_line(output, "ok 1 - predict_order");
  expect_line(output, "not ok 2 - wrong_order");
  expect_line(output, "not ok 3 - leaked_timer Could not run test: Test teardown failed");
  char report[512];
  snprintf(report, sizeof report, "%s:%d: the trace differs from the expected one at entry 1 (5 expected, 5 recorded):",
           __FILE__, WRONG_ORDER_LINE);
  expect_line(output, report);
  expect_line(output, ">> 1  B         E         0 ms  main       1");
  snprintf(report, sizeof report, "# %s:%d: error: Failure!", __FILE__, WRONG_ORDER_LINE);
  expect_line(output, report);
  snprintf(report, sizeof report, "timeout created at %s:%d still armed (no timers may leak from a test)", __FILE__,
           LEAKED_TIMER_LINE);
  assert_non_null(strstr(output, report));
}

int main(int argc, char **argv) {
  child_self = argv[0];
  if (argc == 2 && strcmp(argv[1], "failing-group") == 0)
    return run_failing_group();
  const struct CMUnitTest tests[] = {
      cw_test(predict_order),
      cw_test(predict_order_relations),
      cw_test_opts(a_timer_left_armed_on_purpose, &allow_timers),
      {"a leaked timer fails teardown", leak_fails_teardown, NULL, NULL, (void *)&timer},
      {"a floating promise fails teardown", leak_fails_teardown, NULL, NULL, (void *)&promise},
      {"a suspended task fails teardown", leak_fails_teardown, NULL, NULL, (void *)&task},
      {"an unhandled rejection fails teardown", leak_fails_teardown, NULL, NULL, (void *)&rejection},
      {"CW_ALLOW_TIMERS allows a leaked timer", leak_allowed, NULL, NULL, (void *)&timer},
      {"CW_ALLOW_FLOATING allows a floating promise", leak_allowed, NULL, NULL, (void *)&promise},
      {"CW_ALLOW_TASKS allows a suspended task", leak_allowed, NULL, NULL, (void *)&task},
      {"CW_ALLOW_UNHANDLED allows an unhandled rejection", leak_allowed, NULL, NULL, (void *)&rejection},
      cmocka_unit_test(failures_fail_the_tests_under_tap),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
