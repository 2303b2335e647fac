/* Probes on virtual time: what they count, in which window, their exact
 * figures and the exact text of their verdicts; and the fakes' operations
 * among the labels of the trace written to CW_TRACE. */
#include "harness_fixture.h"

#include <clockwork/probe.h>

#include "batch.h"

/* Runs b under a probe over pattern; the probe, ended. */
static cw_probe *probe_run(const char *pattern, batch *b) {
  cw_probe *p = cw_probe_begin(h, pattern);
  assert_non_null(p);
  b->loop = loop;
  assert_int_equal(cw_harness_run(h, batch_run, b), 0);
  cw_probe_end(p);
  assert_int_equal(b->done, b->n);
  return p;
}

static void expect_figures(const cw_probe *p, size_t ops, size_t completed, size_t peak, double virtual_ms,
                           double latency_ms) {
  cw_probe_figures f = cw_probe_figures_of(p);
  assert_int_equal(f.ops, ops);
  assert_int_equal(f.completed, completed);
  assert_int_equal(f.peak_in_flight, peak);
  assert_true(f.virtual_ms == virtual_ms);
  assert_true(f.latency_ms == latency_ms);
  assert_true(f.concurrency == (virtual_ms > 0 ? latency_ms / virtual_ms : 0));
  assert_true(f.wall_ms >= 0);
}

/* ---- verdicts -------------------------------------------------------------------- */

static void all_at_once_is_parallel_not_serial(void **state) {
  (void)state;
  work_latency(h, 100);
  batch b = {.n = 10};
  cw_probe *p = probe_run("work.run", &b);
  expect_figures(p, 10, 10, 10, 100, 1000);
  assert_true(cw_probe_assert_parallel(p, 10));
  int at = LINE_OF(assert_false(cw_probe_assert_serial(p)));
  expect_failure(__FILE__, at,
                 "not serial: 10 work.run took 100.0 ms at 100.0 ms each (effective concurrency 10.0, peak 10 in "
                 "flight, expected ≤ 1) — they overlap; if each must finish before the next starts, await it first "
                 "(or use a limiter of 1)");
  cw_probe_free(p);
}

static void an_await_inside_a_loop_is_serialized(void **state) {
  (void)state;
  work_latency(h, 100);
  batch b = {.n = 10, .serial = true};
  cw_probe *p = probe_run("work.run", &b);
  expect_figures(p, 10, 10, 1, 1000, 1000);
  assert_true(cw_probe_assert_serial(p));
  int at = LINE_OF(assert_false(cw_probe_assert_parallel(p, 10)));
  expect_failure(__FILE__, at,
                 "serialized: 10 work.run took 1.000 s at 100.0 ms each (effective concurrency 1.0, peak 1 in "
                 "flight, expected ≥ 10) — an await inside a loop?");
  cw_probe_free(p);
}

static void a_low_limit_is_not_parallel_enough(void **state) {
  (void)state;
  work_latency(h, 100);
  batch b = {.n = 12, .limit = 4};
  cw_probe *p = probe_run("work.run", &b);
  expect_figures(p, 12, 12, 4, 300, 1200);
  assert_true(cw_probe_assert_parallel(p, 4));
  int at = LINE_OF(assert_false(cw_probe_assert_parallel(p, 4.5)));
  expect_failure(__FILE__, at,
                 "not parallel enough: 12 work.run took 300.0 ms at 100.0 ms each (effective concurrency 4.0, peak "
                 "4 in flight, expected ≥ 4.5) — a concurrency limit below 4.5?");
  cw_probe_free(p);
}

static void long_runs_read_in_hours(void **state) {
  (void)state;
  work_latency(h, 1500000); /* 25 min */
  batch b = {.n = 12, .serial = true};
  cw_probe *p = probe_run("work.run", &b);
  int at = LINE_OF(assert_false(cw_probe_assert_parallel(p, 2)));
  expect_failure(__FILE__, at,
                 "serialized: 12 work.run took 5 h 0 min 0 s at 25 min 0 s each (effective concurrency 1.0, peak 1 "
                 "in flight, expected ≥ 2) — an await inside a loop?");
  cw_probe_free(p);
}

/* ---- what a probe counts --------------------------------------------------------- */

static cw_stat stat_out;

static void works_and_a_stat(void *arg) {
  batch *b = arg;
  batch_run(b);
  cw_detach(cw_fs_stat(loop, "/a", &stat_out));
}

static void patterns_choose_the_operations(void **state) {
  (void)state;
  work_latency(h, 100);
  assert_int_equal(cw_fake_fs_put(h, "/a", "x", 1), 0);
  cw_probe *work = cw_probe_begin(h, "work.run"), *fs = cw_probe_begin(h, "fs.*"), *any = cw_probe_begin(h, "*");
  batch b = {loop, .n = 2};
  assert_int_equal(cw_harness_run(h, works_and_a_stat, &b), 0);
  cw_probe_end(work);
  cw_probe_end(fs);
  cw_probe_end(any);
  expect_figures(work, 2, 2, 2, 100, 200);
  expect_figures(fs, 1, 1, 1, 100, 0);
  expect_figures(any, 3, 3, 3, 100, 200);
  int at = LINE_OF(assert_false(cw_probe_assert_serial(any)));
  expect_failure(__FILE__, at,
                 "not serial: 3 operations matching \"*\" took 100.0 ms at 66.7 ms each (effective concurrency 2.0, "
                 "peak 3 in flight, expected ≤ 1) — they overlap; if each must finish before the next starts, await "
                 "it first (or use a limiter of 1)");
  at = LINE_OF(assert_false(cw_probe_assert_parallel(fs, 2)));
  expect_failure(__FILE__, at,
                 "cw_probe_assert_parallel: 1 operation matching \"fs.*\" took no time: nothing to judge (give them "
                 "latency with a rule, cw_fake_rule)");
  cw_probe_free(work);
  cw_probe_free(fs);
  cw_probe_free(any);
}

static void start_works(batch *b, size_t n) {
  for (size_t i = 0; i < n; i++)
    cw_detach(batch_start(b, i));
}

/* Operations count when they start inside the window; the figures run
 * until now while the probe counts, and stay as they were once it ended. */
static void the_window_is_from_begin_to_end(void **state) {
  (void)state;
  work_latency(h, 100);
  batch b = {.loop = loop};
  start_works(&b, 2); /* at 0, done at 100: before the window */
  cw_clock_advance(h, 50);
  cw_probe *p = cw_probe_begin(h, "work.run");
  start_works(&b, 3); /* at 50, done at 150 */
  cw_clock_advance(h, 40);
  expect_figures(p, 3, 0, 3, 40, 120);
  cw_clock_advance(h, 60);
  assert_int_equal(b.done, 5);
  expect_figures(p, 3, 3, 3, 100, 300);
  cw_clock_advance(h, 100);
  expect_figures(p, 3, 3, 3, 200, 300);
  cw_probe_end(p);
  start_works(&b, 1); /* after the window */
  cw_clock_advance(h, 100);
  assert_int_equal(b.done, 6);
  expect_figures(p, 3, 3, 3, 200, 300);
  cw_probe_end(p); /* ended already: nothing */
  expect_figures(p, 3, 3, 3, 200, 300);
  cw_probe_free(p);
}

/* Operations still in flight at the end count the time they spent inside. */
static void in_flight_at_the_end_counts_its_time_inside(void **state) {
  (void)state;
  work_latency(h, 100);
  batch b = {.loop = loop};
  cw_probe *p = cw_probe_begin(h, "work.run");
  start_works(&b, 2);
  cw_clock_advance(h, 30);
  cw_probe_end(p);
  cw_clock_advance(h, 100);
  expect_figures(p, 2, 0, 2, 30, 60);
  cw_probe_free(p);
}

/* ---- misuse ---------------------------------------------------------------------- */

static void nothing_to_judge_is_a_failure(void **state) {
  (void)state;
  batch b = {.n = 5};
  cw_probe *typo = cw_probe_begin(h, "fs.reed");
  cw_probe *p = probe_run("work.run", &b); /* no rule: no latency */
  cw_probe_end(typo);
  int at = LINE_OF(assert_false(cw_probe_assert_parallel(typo, 10)));
  expect_failure(__FILE__, at,
                 "cw_probe_assert_parallel: no operation matching \"fs.reed\" started in the probe's window "
                 "(operation names: fs.read, net.connect, dns.resolve, work.run...)");
  at = LINE_OF(assert_false(cw_probe_assert_serial(p)));
  expect_failure(__FILE__, at,
                 "cw_probe_assert_serial: 5 work.run took no time: nothing to judge (give them latency with a rule, "
                 "cw_fake_rule)");
  cw_probe_free(typo);
  cw_probe_free(p);
}

static void bad_arguments_are_failures(void **state) {
  (void)state;
  int at = LINE_OF(assert_null(cw_probe_begin(h, NULL)));
  expect_failure(__FILE__, at, "cw_probe_begin: pattern is NULL (\"*\" matches every operation)");
  work_latency(h, 10);
  batch b = {.n = 2};
  cw_probe *p = probe_run("work.run", &b);
  at = LINE_OF(assert_false(cw_probe_assert_parallel(p, 0.5)));
  expect_failure(__FILE__, at, "cw_probe_assert_parallel: min is 0.5; an effective concurrency is at least 1");
  cw_probe_end(NULL);
  cw_probe_free(NULL);
  cw_probe_figures none = cw_probe_figures_of(NULL);
  assert_int_equal(none.ops, 0);
  cw_probe_free(p);
}

static const cw_harness_opts real_io = {.seed = CAPTURE_SEED, .real_io = true};

static void real_io_has_nothing_to_count(void **state) {
  (void)state;
  int at = LINE_OF(assert_null(cw_probe_begin(h, "*")));
  expect_failure(__FILE__, at,
                 "cw_probe_begin: this harness has no fakes (opts.real_io is set): probes count the fakes' "
                 "operations");
  harness_close();
  assert_int_equal(unchecked_failures(), 0);
}

/* A probe outlives its harness: freeing the harness ends it. */
static void freeing_the_harness_ends_its_probes(void **state) {
  (void)state;
  work_latency(h, 100);
  cw_probe *p = cw_probe_begin(h, "*");
  batch b = {loop, .n = 3};
  assert_int_equal(cw_harness_run(h, batch_run, &b), 0);
  harness_close();
  expect_figures(p, 3, 3, 3, 100, 300);
  cw_probe_end(p);
  cw_probe_free(p);
  assert_int_equal(unchecked_failures(), 0);
}

/* ---- op records in the trace ------------------------------------------------------- */

/* Opens the harness with CW_TRACE naming trace_path, a new temporary file,
 * which its teardown writes; path is a second one, for cw_trace_write_json. */
static void open_traced(char trace_path[32], char path[32]) {
  temp_file(trace_path);
  temp_file(path);
  setenv("CW_TRACE", trace_path, 1);
  assert_int_equal(harness_open(capture_opts(0)), 0);
}

/* Writes the trace to path with cw_trace_write_json, then frees the harness
 * (which writes CW_TRACE's); the text at path. */
static char *close_traced(const char *path) {
  assert_int_equal(cw_trace_write_json(h, path), 0);
  harness_close();
  unsetenv("CW_TRACE");
  return read_file(path);
}

static cw_result trace_done(void *label, cw_result in) {
  cw_trace(loop, label);
  return in.state == CW_REJECTED ? cw_ok(NULL) : in;
}

static void *nothing(void *arg) { return arg; }

static void reads_and_work(void *arg) {
  (void)arg;
  static char *data;
  static size_t len;
  cw_trace(loop, "main");
  cw_detach(cw_then(cw_work(loop, nothing, NULL), trace_done, NULL, "work done"));
  cw_detach(cw_then(cw_fs_stat(loop, "/db/1", &stat_out), trace_done, NULL, "stat done"));
  cw_detach(cw_then(cw_fs_read_file(loop, "/db/2", &data, &len), trace_done, NULL, "read done"));
  cw_detach(cw_catch(cw_fs_stat(loop, "/db/none", &stat_out), trace_done, "stat failed"));
}

static const char ops_trace[] =
    "{\"label\": \"main\", \"time_ms\": 0, \"phase\": \"main\", \"macrotask\": 1}\n"
    "{\"op\":\"fs.stat\",\"subject\":\"/db/1\",\"start_ms\":0.000,\"end_ms\":0.000,\"result\":0}\n"
    "{\"op\":\"fs.open\",\"subject\":\"/db/2\",\"start_ms\":0.000,\"end_ms\":0.000,\"result\":3}\n"
    "{\"op\":\"fs.stat\",\"subject\":\"/db/none\",\"start_ms\":0.000,\"end_ms\":0.000,\"result\":-2}\n"
    "{\"label\": \"stat done\", \"time_ms\": 0, \"phase\": \"microtask\", \"macrotask\": 2}\n"
    "{\"label\": \"stat failed\", \"time_ms\": 0, \"phase\": \"microtask\", \"macrotask\": 4}\n"
    "{\"op\":\"fs.read\",\"subject\":\"/db/2\",\"start_ms\":0.000,\"end_ms\":12.000,\"result\":5}\n"
    "{\"op\":\"fs.read\",\"subject\":\"/db/2\",\"start_ms\":12.000,\"end_ms\":24.000,\"result\":0}\n"
    "{\"op\":\"fs.close\",\"subject\":\"/db/2\",\"start_ms\":24.000,\"end_ms\":24.000,\"result\":0}\n"
    "{\"label\": \"read done\", \"time_ms\": 24, \"phase\": \"microtask\", \"macrotask\": 7}\n"
    "{\"op\":\"work.run\",\"subject\":\"\",\"start_ms\":0.000,\"end_ms\":50.000,\"result\":0}\n"
    "{\"label\": \"work done\", \"time_ms\": 50, \"phase\": \"microtask\", \"macrotask\": 8}\n";

/* In completion order, each among the labels as it completed, with its
 * subject, start, end and result: written at teardown to CW_TRACE, and by
 * cw_trace_write_json while CW_TRACE is set. */
static void the_trace_records_the_operations(void **state) {
  (void)state;
  char teardown_path[32], written_path[32];
  open_traced(teardown_path, written_path);
  work_latency(h, 50);
  cw_fake_rule(h, &(cw_rule_spec){.op = "fs.read", .latency = {CW_LATENCY_FIXED, 12, 0}});
  assert_int_equal(cw_fake_fs_put(h, "/db/1", "one", 3), 0);
  assert_int_equal(cw_fake_fs_put(h, "/db/2", "two 2", 5), 0);
  assert_int_equal(cw_harness_run(h, reads_and_work, NULL), 0);
  char *written = close_traced(written_path), *at_teardown = read_file(teardown_path);
  assert_string_equal(written, ops_trace);
  assert_string_equal(at_teardown, ops_trace);
  free(at_teardown);
  free(written);
  unlink(teardown_path);
  unlink(written_path);
  assert_int_equal(unchecked_failures(), 0);
}

static size_t count_of(const char *text, const char *part) {
  size_t n = 0;
  for (const char *at = text; (at = strstr(at, part)); at++)
    n++;
  return n;
}

/* Hundreds in flight at once, completing in another order than they
 * started: every one is recorded, with a latency from the rule's range. */
static void many_in_flight_are_all_recorded(void **state) {
  (void)state;
  char trace_path[32], path[32];
  open_traced(trace_path, path);
  cw_fake_rule(h, &(cw_rule_spec){.op = "work.run", .latency = {CW_LATENCY_UNIFORM, 1, 100}});
  batch b = {loop, .n = 500};
  assert_int_equal(cw_harness_run(h, batch_run, &b), 0);
  char *text = close_traced(path);
  assert_int_equal(count_of(text, "{\"op\":\"work.run\",\"subject\":\"\",\"start_ms\":0.000,\"end_ms\":"), 500);
  assert_int_equal(count_of(text, "\n"), 500);
  free(text);
  unlink(trace_path);
  unlink(path);
  assert_int_equal(unchecked_failures(), 0);
}

/* Without CW_TRACE the trace keeps labels only. */
static void without_cw_trace_only_labels(void **state) {
  (void)state;
  char path[32];
  temp_file(path);
  work_latency(h, 50);
  cw_trace(loop, "before");
  batch b = {.n = 1};
  cw_probe_free(probe_run("*", &b));
  assert_int_equal(cw_trace_write_json(h, path), 0);
  char *text = read_file(path);
  assert_string_equal(text, "{\"label\": \"before\", \"time_ms\": 0, \"phase\": \"none\", \"macrotask\": 0}\n");
  free(text);
  unlink(path);
}

int main(int argc, char **argv) {
  (void)argc;
  child_self = argv[0];
  unsetenv("CW_TRACE");
  const struct CMUnitTest tests[] = {
      harness_test(all_at_once_is_parallel_not_serial),
      harness_test(an_await_inside_a_loop_is_serialized),
      harness_test(a_low_limit_is_not_parallel_enough),
      harness_test(long_runs_read_in_hours),
      harness_test(patterns_choose_the_operations),
      harness_test(the_window_is_from_begin_to_end),
      harness_test(in_flight_at_the_end_counts_its_time_inside),
      harness_test(nothing_to_judge_is_a_failure),
      harness_test(bad_arguments_are_failures),
      harness_test_with(real_io_has_nothing_to_count, &real_io),
      harness_test(freeing_the_harness_ends_its_probes),
      harness_test_opening(the_trace_records_the_operations),
      harness_test_opening(many_in_flight_are_all_recorded),
      harness_test(without_cw_trace_only_labels),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
