/* cw_map: input order, the limit on elements in flight, fail-fast and
 * settle-all, abort, and elements that are no promise. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "fixture.h"
#include "ops.h"
#include "record.h"

enum { N = 6 };
static int vals[N];
static void *values[N];
static cw_result results[N];
static observer mapped = {"map", 0, {0}};

static int setup(void **state) {
  ops_reset();
  for (int i = 0; i < N; i++)
    values[i] = &mapped, results[i] = (cw_result){CW_REJECTED, &mapped, -1, NULL}; /* all overwritten */
  return loop_setup(state);
}
#define map_test(fn) cmocka_unit_test_setup_teardown(fn, setup, loop_teardown)

static void assert_result(cw_result r, cw_state state, void *value, int error) {
  assert_int_equal(r.state, state);
  assert_ptr_equal(r.value, value);
  assert_int_equal(r.error, error);
}

/* ---- order and limit ----------------------------------------------------------- */

static script order[N] = {{3, 0, &vals[0]}, {0, 0, &vals[1]}, {1, 0, &vals[2]},
                          {0, 0, &vals[3]}, {2, 0, &vals[4]}, {0, 0, &vals[5]}};

static void main_order(void *limit) {
  watch(cw_map(test_loop, N, op_map, order, (size_t)(uintptr_t)limit, values), &mapped);
  rec("sync");
}

static void results_in_input_order_at_most_limit_in_flight(void **state) {
  (void)state;
  assert_int_equal(cw_run(test_loop, main_order, (void *)2), 0);
  /* Elements 0 and 1 start inside the call; each settlement starts the next. */
  assert_rec("+0 +1 sync -1 +2 -2 +3 -0 +4 -3 +5 -5 -4 map:ok");
  assert_int_equal(ops.peak, 2);
  assert_int_equal(ops.started, N);
  assert_ptr_equal(mapped.in.value, values);
  for (int i = 0; i < N; i++)
    assert_ptr_equal(values[i], &vals[i]);
}

static void limit_zero_is_unbounded(void **state) {
  (void)state;
  assert_int_equal(cw_run(test_loop, main_order, (void *)0), 0);
  assert_rec("+0 +1 +2 +3 +4 +5 sync -1 -3 -5 -2 -4 -0 map:ok");
  assert_int_equal(ops.peak, N);
  for (int i = 0; i < N; i++)
    assert_ptr_equal(values[i], &vals[i]);
}

static void limit_above_n(void **state) {
  (void)state;
  assert_int_equal(cw_run(test_loop, main_order, (void *)100), 0);
  assert_int_equal(ops.peak, N);
  assert_ptr_equal(values[4], &vals[4]);
}

static void no_elements_fulfils_at_once(void **state) {
  (void)state;
  cw_promise *p = cw_map(test_loop, 0, op_map, order, 2, values);
  assert_int_equal(cw_promise_state(p), CW_FULFILLED);
  assert_ptr_equal(cw_promise_result(p).value, values);
  cw_release(p);
  assert_int_equal(ops.started, 0);
  assert_ptr_equal(values[0], &mapped); /* nothing to touch */
}

/* ---- failures -------------------------------------------------------------------- */

/* Element 1 fails first; 0 and 2 are in flight then, 3 to 5 never start. */
static script failing[N] = {{2, 0, &vals[0]}, {0, UV_EIO, NULL}, {1, 0, &vals[2]},
                            {0, 0, &vals[3]}, {0, UV_EPIPE, NULL}, {0, 0, &vals[5]}};

static void main_failing(void *settle_all) {
  cw_map_opts opts = {.limit = 3, .values_out = values, .results_out = results, .settle_all = settle_all != NULL};
  watch(cw_map_with(test_loop, N, op_map, failing, &opts), &mapped);
}

static void fail_fast_waits_for_elements_in_flight(void **state) {
  (void)state;
  assert_int_equal(cw_run(test_loop, main_failing, NULL), 0);
  assert_rec("+0 +1 +2 x1 -2 -0 map:UV_EIO");
  assert_int_equal(ops.started, 3);
  assert_int_equal(ops.now, 0);
  assert_ptr_equal(values[0], &vals[0]);
  assert_null(values[1]);
  assert_ptr_equal(values[2], &vals[2]);
  for (int i = 3; i < N; i++) {
    assert_null(values[i]);
    assert_result(results[i], CW_PENDING, NULL, 0); /* never started */
  }
  assert_result(results[1], CW_REJECTED, NULL, UV_EIO);
  assert_result(results[2], CW_FULFILLED, &vals[2], 0);
}

static void settle_all_runs_everything(void **state) {
  (void)state;
  assert_int_equal(cw_run(test_loop, main_failing, (void *)1), 0);
  assert_rec("+0 +1 +2 x1 +3 -3 +4 -2 +5 -0 x4 -5 map:ok");
  assert_int_equal(ops.started, N);
  assert_int_equal(ops.peak, 3);
  assert_ptr_equal(mapped.in.value, results);
  for (int i = 0; i < N; i++)
    if (failing[i].error)
      assert_result(results[i], CW_REJECTED, NULL, failing[i].error);
    else
      assert_result(results[i], CW_FULFILLED, &vals[i], 0);
}

/* ---- abort ------------------------------------------------------------------------- */

static cw_signal *sig;
static script slow[N] = {{1, 0, &vals[0]}, {1, 0, &vals[1]}, {1, 0, &vals[2]},
                         {1, 0, &vals[3]}, {1, 0, &vals[4]}, {1, 0, &vals[5]}};

static void abort_now(void *arg) {
  (void)arg;
  rec("abort");
  cw_signal_abort(sig, UV_EPIPE);
}

static void main_aborted(void *arg) {
  (void)arg;
  sig = cw_signal_new(test_loop);
  cw_map_opts opts = {.limit = 2, .values_out = values, .signal = sig};
  watch(cw_map_with(test_loop, N, op_map, slow, &opts), &mapped);
  cw_set_immediate(test_loop, abort_now, NULL);
}

static void abort_starts_no_more_and_rejects_after_in_flight(void **state) {
  (void)state;
  assert_int_equal(cw_run(test_loop, main_aborted, NULL), 0);
  assert_rec("+0 +1 abort -0 -1 map:UV_EPIPE");
  assert_int_equal(ops.started, 2);
  assert_ptr_equal(values[0], &vals[0]);
  assert_ptr_equal(values[1], &vals[1]);
  assert_null(values[2]);
  cw_signal_free(sig);
}

static void aborted_signal_starts_nothing(void **state) {
  (void)state;
  cw_signal *s = cw_signal_new(test_loop);
  cw_signal_abort(s, 0);
  cw_map_opts opts = {.values_out = values, .signal = s};
  cw_promise *p = cw_map_with(test_loop, N, op_map, slow, &opts);
  assert_int_equal(cw_promise_state(p), CW_REJECTED);
  assert_int_equal(cw_promise_result(p).error, UV_ECANCELED);
  watch(p, &mapped);
  assert_int_equal(cw_run(test_loop, NULL, NULL), 0);
  assert_rec("map:UV_ECANCELED");
  assert_int_equal(ops.started, 0);
  cw_signal_free(s);
}

/* A map that ends normally removes its listener: the signal is freed at
 * once (the sanitizer sees a leak otherwise) and aborting it earlier than
 * that would have been the only effect. */
static void main_signal_unused(void *arg) {
  (void)arg;
  sig = cw_signal_new(test_loop);
  cw_map_opts opts = {.limit = 3, .values_out = values, .signal = sig};
  watch(cw_map_with(test_loop, N, op_map, slow, &opts), &mapped);
}

static void signal_left_alone_changes_nothing(void **state) {
  (void)state;
  assert_int_equal(cw_run(test_loop, main_signal_unused, NULL), 0);
  assert_int_equal(mapped.in.state, CW_FULFILLED);
  cw_signal_abort(sig, 0); /* too late: nothing listens */
  cw_signal_free(sig);
  assert_ptr_equal(values[5], &vals[5]);
}

/* ---- misuse -------------------------------------------------------------------------- */

static int null_line;

static cw_promise *null_for_one(void *scripts, size_t i) { return i == 1 ? NULL : op_map(scripts, i); }

static void main_null_element(void *arg) {
  (void)arg;
  cw_map_opts opts = {.limit = 2, .results_out = results, .settle_all = true};
  null_line = LINE_OF(watch(cw_map_with(test_loop, 3, null_for_one, slow, &opts), &mapped));
}

static void element_without_promise_rejects_with_emisuse(void **state) {
  (void)state;
  assert_int_equal(cw_run(test_loop, main_null_element, NULL), CW_EMISUSE);
  misuse_report m = misuse_take();
  assert_string_equal(m.function, "cw_map");
  assert_int_equal(m.line, null_line);
  assert_rec("+0 +2 -0 -2 map:ok");
  assert_result(results[1], CW_REJECTED, NULL, CW_EMISUSE);
  assert_result(results[2], CW_FULFILLED, &vals[2], 0);
}

static void null_arguments_are_misuse(void **state) {
  (void)state;
  assert_null(cw_map(test_loop, N, NULL, order, 1, values));
  assert_string_equal(misuse_take().message, "the function is NULL");
  assert_null(cw_map(NULL, N, op_map, order, 1, values));
  assert_string_equal(misuse_take().message, "the loop is NULL");
  assert_int_equal(ops.started, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      map_test(results_in_input_order_at_most_limit_in_flight),
      map_test(limit_zero_is_unbounded),
      map_test(limit_above_n),
      map_test(no_elements_fulfils_at_once),
      map_test(fail_fast_waits_for_elements_in_flight),
      map_test(settle_all_runs_everything),
      map_test(abort_starts_no_more_and_rejects_after_in_flight),
      map_test(aborted_signal_starts_nothing),
      map_test(signal_left_alone_changes_nothing),
      map_test(element_without_promise_rejects_with_emisuse),
      map_test(null_arguments_are_misuse),
  };
  return cmocka_run_group_tests_name("map", tests, NULL, NULL);
}
