/* clockwork for cmocka: a harness per test whose failures fail the test,
 * and assertions on the ordering trace.
 *
 *   static void predict_order(void **state) {
 *     cw_harness *h = cw_test_harness(state);
 *     assert_int_equal(cw_harness_run(h, script, NULL), 0);
 *     assert_trace(h, "A E C D B");
 *   }
 *   int main(void) {
 *     const struct CMUnitTest tests[] = {cw_test(predict_order)};
 *     return cmocka_run_group_tests(tests, NULL, NULL);
 *   }
 *
 * Every failure of the harness is printed with print_error as it happens.
 * An assert_trace* that does not hold stops the test at once, as cmocka's
 * asserts do; failures reported from inside the loop (misuse, a loop guard)
 * and by the teardown checks (leaked timers, floating promises, suspended
 * tasks, unhandled rejections) make the fixture's teardown fail the test.
 * Keep one group per executable: meson test then runs it by its exit code,
 * or as TAP with protocol 'tap' and CMOCKA_MESSAGE_OUTPUT=TAP. */
#ifndef CLOCKWORK_CMOCKA_H
#define CLOCKWORK_CMOCKA_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "harness.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The fixture's bookkeeping: one harness exists at a time in a process, so
 * one record does. */
static struct {
  unsigned failures; /* reported by the harness since cw_test_setup */
  bool stopped;      /* an assert_trace* failed the test already */
} cw_test_status;

static inline void cw_test_fail_handler(void *arg, const char *message) {
  (void)arg;
  cw_test_status.failures++;
  print_error("%s\n", message);
}

/* Fixture: a harness with default options, or with the cw_harness_opts
 * given by cw_test_opts; its failures go to cmocka. */
static inline int cw_test_setup(void **state) {
  cw_harness_opts opts = {0};
  if (*state)
    opts = *(const cw_harness_opts *)*state;
  opts.fail = cw_test_fail_handler;
  opts.fail_arg = NULL;
  cw_test_status.failures = 0;
  cw_test_status.stopped = false;
  *state = cw_harness_new(&opts);
  return *state ? 0 : -1;
}

/* Frees the harness; fails the test on failures no assertion stopped it for. */
static inline int cw_test_teardown(void **state) {
  cw_harness_free(*state);
  *state = NULL;
  return cw_test_status.failures && !cw_test_status.stopped ? -1 : 0;
}

/* The running test's harness. */
static inline cw_harness *cw_test_harness(void **state) { return (cw_harness *)*state; }

/* A test with the fixture: default options, or the cw_harness_opts at opts
 * (which must outlive the test run; fail and fail_arg are replaced). */
#define cw_test(fn) cmocka_unit_test_setup_teardown(fn, cw_test_setup, cw_test_teardown)
#define cw_test_opts(fn, opts) \
  cmocka_unit_test_prestate_setup_teardown(fn, cw_test_setup, cw_test_teardown, (void *)(opts))

static inline void cw_test_check(bool held, const char *file, int line) {
  if (held)
    return;
  cw_test_status.stopped = true;
  _fail(file, line);
}

/* The trace assertions of harness.h, stopping the test when they do not hold. */
#define assert_trace(h, labels) cw_test_check(cw_trace_expect_at(h, labels, CW_HERE), CW_HERE)
#define assert_trace_before(h, a, b) cw_test_check(cw_trace_before_at(h, a, b, CW_HERE), CW_HERE)
#define assert_trace_phase(h, label, phase) cw_test_check(cw_trace_in_phase_at(h, label, phase, CW_HERE), CW_HERE)
#define assert_trace_same_macrotask(h, a, b) cw_test_check(cw_trace_same_macrotask_at(h, a, b, CW_HERE), CW_HERE)

#ifdef __cplusplus
}
#endif
#endif
