/* The blocking detector (opts.blocking_ms): a macrotask whose callback and
 * drain take longer than the threshold in wall time is a failure naming the
 * callback; and the core's macrotask hook under it. Callbacks busy-wait on
 * CLOCK_MONOTONIC_RAW, which the harness leaves real; they are global, and
 * the program is linked with export_dynamic, so that dladdr names them. */
#include "harness_fixture.h"

#include <time.h>

#include <clockwork/io.h>

static void open_harness(double blocking_ms) {
  cw_harness_opts opts = capture_opts(0);
  opts.blocking_ms = blocking_ms;
  assert_int_equal(harness_open(opts), 0);
}


static uint64_t raw_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void busy_wait_ms(uint64_t ms) {
  uint64_t end = raw_ns() + ms * 1000000u;
  while (raw_ns() < end)
    ;
}

/* The next failure's duration in ms, which must be at least min_ms; its
 * digits are replaced by '#' so that expect_failure checks the rest exactly. */
static void take_duration(double min_ms) {
  if (captured.taken == captured.len)
    fail_msg("expected a blocking failure, there was none");
  char *at = strstr(captured.text[captured.taken], "blocked for ");
  assert_non_null(at);
  at += strlen("blocked for ");
  char *end;
  double ms = strtod(at, &end);
  assert_true(end > at);
  if (ms < min_ms)
    fail_msg("reported %.1f ms, the callback took at least %.1f ms", ms, min_ms);
  memmove(at + 1, end, strlen(end) + 1);
  *at = '#';
}

void slow_timer(void *arg);
void slow_timer(void *arg) {
  (void)arg;
  busy_wait_ms(30);
}

/* ---- the detector ---------------------------------------------------------------- */

static void a_slow_timer_callback_is_reported(void **state) {
  (void)state;
  open_harness(10);
  int line = LINE_OF(cw_set_timeout(loop, 5, slow_timer, NULL));
  assert_int_equal(cw_harness_run(h, NULL, NULL), 0);
  take_duration(30);
  expect_failure(__FILE__, line,
                 "event loop blocked for # ms by slow_timer (a timer callback, phase timers) — threshold 10.0 ms");
}

static void under_the_threshold_is_not_reported(void **state) {
  (void)state;
  open_harness(1000);
  cw_set_timeout(loop, 5, slow_timer, NULL);
  assert_int_equal(cw_harness_run(h, NULL, NULL), 0);
  assert_int_equal(captured.len, 0);
}

static void off_by_default(void **state) {
  (void)state;
  open_harness(0);
  cw_set_timeout(loop, 5, slow_timer, NULL);
  assert_int_equal(cw_harness_run(h, NULL, NULL), 0);
  assert_int_equal(captured.len, 0);
}

/* The callback is quick; the promise chain it starts does the busy work
 * in the drain, which belongs to the same macrotask. */
static cw_result slow_then(void *arg, cw_result in) {
  (void)arg;
  busy_wait_ms(30);
  return in;
}

void start_slow_chain(void *arg);
void start_slow_chain(void *arg) {
  (void)arg;
  cw_promise *p = cw_then(cw_resolved(loop, NULL), slow_then, NULL, NULL);
  cw_detach(cw_then(p, slow_then, NULL, NULL));
}

static void the_drain_counts(void **state) {
  (void)state;
  open_harness(45);
  int line = LINE_OF(cw_set_timeout(loop, 5, start_slow_chain, NULL));
  assert_int_equal(cw_harness_run(h, NULL, NULL), 0);
  take_duration(60);
  expect_failure(__FILE__, line,
                 "event loop blocked for # ms by start_slow_chain (a timer callback, phase timers) — threshold 45.0 ms");
}

void slow_immediate(void *arg);
void slow_immediate(void *arg) { slow_timer(arg); }

void slow_main(void *arg);
void slow_main(void *arg) {
  busy_wait_ms(30);
  *(int *)arg = LINE_OF(cw_set_immediate(loop, slow_immediate, NULL));
}

static void main_and_immediates_are_named(void **state) {
  (void)state;
  open_harness(10);
  int line;
  assert_int_equal(cw_harness_run(h, slow_main, &line), 0);
  take_duration(30);
  const char *main_report = captured.text[captured.taken++];
  if (!strstr(main_report, ": event loop blocked for # ms by slow_main (the main function, phase main) — "
                           "threshold 10.0 ms\n"))
    fail_msg("got %s", main_report);
  take_duration(30);
  expect_failure(__FILE__, line,
                 "event loop blocked for # ms by slow_immediate (an immediate, phase check) — threshold 10.0 ms");
}

static void *work(void *arg) { return arg; }

static void an_io_completion_is_named_by_its_operation(void **state) {
  (void)state;
  open_harness(10);
  int line = LINE_OF(cw_detach(cw_then(cw_work(loop, work, NULL), slow_then, NULL, NULL)));
  assert_int_equal(cw_harness_run(h, NULL, NULL), 0);
  take_duration(30);
  expect_failure(__FILE__, line, "event loop blocked for # ms by an I/O completion (phase poll) — threshold 10.0 ms");
}

/* ---- the core's hook -------------------------------------------------------------- */

static cw_macrotask_info seen[8];
static size_t seen_len;

static void record(void *arg, const cw_macrotask_info *info) {
  assert_ptr_equal(arg, &seen_len);
  assert_int_equal(cw_loop_phase(loop), CW_PHASE_NONE);
  if (seen_len < sizeof seen / sizeof seen[0])
    seen[seen_len++] = *info;
}

void noop(void *arg);
void noop(void *arg) { (void)arg; }

static int timer_line, immediate_line;

static void schedule(void *arg) {
  (void)arg;
  timer_line = LINE_OF(cw_set_timeout(loop, 5, noop, NULL));
  immediate_line = LINE_OF(cw_set_immediate(loop, start_slow_chain, NULL));
}

static void the_hook_sees_every_outermost_macrotask(void **state) {
  (void)state;
  open_harness(0);
  seen_len = 0;
  cw_on_macrotask(loop, record, &seen_len);
  assert_int_equal(cw_harness_run(h, schedule, NULL), 0);
  assert_int_equal(seen_len, 3);
  assert_int_equal(seen[0].phase, CW_PHASE_MAIN);
  assert_ptr_equal(seen[0].callback, schedule);
  assert_int_equal(seen[1].phase, CW_PHASE_CHECK);
  assert_ptr_equal(seen[1].callback, start_slow_chain);
  assert_string_equal(seen[1].file, __FILE__);
  assert_int_equal(seen[1].line, immediate_line);
  assert_true(seen[1].end_ns - seen[1].start_ns >= 60000000u); /* its drain ran two slow_then */
  assert_int_equal(seen[2].phase, CW_PHASE_TIMERS);
  assert_ptr_equal(seen[2].callback, noop);
  assert_int_equal(seen[2].line, timer_line);
  for (size_t i = 0; i < seen_len; i++)
    assert_true(seen[i].start_ns <= seen[i].end_ns && (i == 0 || seen[i - 1].end_ns <= seen[i].start_ns));

  cw_on_macrotask(loop, NULL, NULL);
  cw_set_timeout(loop, 5, noop, NULL);
  assert_int_equal(cw_harness_run(h, NULL, NULL), 0);
  assert_int_equal(seen_len, 3);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      harness_test_opening(a_slow_timer_callback_is_reported),
      harness_test_opening(under_the_threshold_is_not_reported),
      harness_test_opening(off_by_default),
      harness_test_opening(the_drain_counts),
      harness_test_opening(main_and_immediates_are_named),
      harness_test_opening(an_io_completion_is_named_by_its_operation),
      harness_test_opening(the_hook_sees_every_outermost_macrotask),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
