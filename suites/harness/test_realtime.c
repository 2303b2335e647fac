/* The harness's real-time mode (opts.real_time): the fakes' latencies,
 * timers and sleeps elapse for real, and the probes judge the wall time
 * with their tolerance (probe.h), as the wall-clock recipe does: ten
 * operations of L ms take about L in parallel, about 10 L in series.
 * Every check on time is a bound or a probe's tolerance, never an exact
 * wall time. The whole suite takes about 1.5 s. */
#include "harness_fixture.h"

#include <time.h>

#include <clockwork/probe.h>

#include "batch.h"

/* Every test runs on real time. */
static const cw_harness_opts real_time = {.seed = CAPTURE_SEED, .real_time = true};

static double wall_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Runs batch b of operations of latency_ms each inside a probe. */
static cw_probe *probe_run(batch *b, double latency_ms) {
  work_latency(h, latency_ms);
  cw_probe *p = cw_probe_begin(h, "work.run");
  assert_non_null(p);
  b->loop = loop;
  double began = wall_ms();
  assert_int_equal(cw_harness_run(h, batch_run, b), 0);
  cw_probe_end(p);
  assert_int_equal(b->done, b->n);
  assert_true(wall_ms() - began >= latency_ms); /* the latencies elapsed for real */
  assert_true(cw_clock_now(h) >= latency_ms);   /* and the clock followed */
  return p;
}

/* The parallel verdict bounds the wall time from above, where a stalled
 * process overruns it: at 100 ms the tolerance leaves 30 ms, at 400 ms it
 * leaves 105 ms. */
static void ten_at_once_take_about_one_latency(void **state) {
  (void)state;
  batch b = {.n = 10};
  cw_probe *p = probe_run(&b, 400);
  assert_true(cw_probe_assert_parallel(p, 10));
  assert_false(cw_probe_assert_serial(p));
  expect_failure_with("test_realtime.c:", "not serial: 10 work.run took ", " of wall time at ", NULL);
  cw_probe_figures f = cw_probe_figures_of(p);
  assert_int_equal(f.peak_in_flight, 10);
  assert_true(f.concurrency > 5);
  cw_probe_free(p);
}

static void ten_awaited_in_a_loop_take_ten_latencies(void **state) {
  (void)state;
  batch b = {.n = 10, .serial = true};
  cw_probe *p = probe_run(&b, 100);
  assert_true(cw_probe_assert_serial(p));
  assert_false(cw_probe_assert_parallel(p, 10));
  expect_failure_with("serialized: 10 work.run took ", " of wall time at ", "expected ≥ 10: at most ",
                      "with the real-time tolerance of 25% + 5 ms) — an await inside a loop?", NULL);
  cw_probe_figures f = cw_probe_figures_of(p);
  assert_true(f.wall_ms >= 1000);
  assert_int_equal(f.peak_in_flight, 1);
  cw_probe_free(p);
}

/* What the tolerance says, on the parallel figures: a serial verdict
 * names the wall time it would have needed. */
static void the_verdicts_name_the_tolerance(void **state) {
  (void)state;
  batch b = {.n = 4};
  cw_probe *p = probe_run(&b, 100);
  assert_false(cw_probe_assert_serial(p));
  expect_failure_with("not serial: 4 work.run took ", " of wall time at ", "expected ≤ 1: at least ",
                      "with the real-time tolerance of 25% + 5 ms) — they overlap", NULL);
  cw_probe_free(p);
}

static void fire(void *arg) { *(double *)arg = wall_ms(); }

static void timers_and_sleeps_are_real(void **state) {
  (void)state;
  double fired = 0, began = wall_ms();
  cw_set_timeout(loop, 30, fire, &fired);
  assert_int_equal(cw_harness_run(h, NULL, NULL), 0);
  assert_true(fired - began >= 30);
  uint64_t before = cw_clock_now(h);
  began = wall_ms();
  nanosleep(&(struct timespec){0, 20 * 1000000}, NULL);
  assert_true(wall_ms() - began >= 20);
  assert_true(cw_clock_now(h) - before >= 20);
}

static void the_clock_controls_refuse(void **state) {
  (void)state;
  cw_clock_advance(h, 10);
  expect_failure_with("cw_clock_advance: the clock controls move virtual time, and opts.real_time is set: run "
                      "the loop with cw_harness_run, time passes for real", NULL);
  assert_false(cw_clock_next(h));
  expect_failure_with("cw_clock_next: the clock controls move virtual time", NULL);
}

int main(int argc, char **argv) {
  (void)argc;
  child_self = argv[0];
  const struct CMUnitTest tests[] = {
      harness_test_with(ten_at_once_take_about_one_latency, &real_time),
      harness_test_with(ten_awaited_in_a_loop_take_ten_latencies, &real_time),
      harness_test_with(the_verdicts_name_the_tolerance, &real_time),
      harness_test_with(timers_and_sleeps_are_real, &real_time),
      harness_test_with(the_clock_controls_refuse, &real_time),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
