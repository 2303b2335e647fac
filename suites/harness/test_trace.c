/* Ordering traces: what cw_trace records, the assertions and the exact text
 * of their failures, the JSON lines export, and byte-identical traces for
 * the same seed. */
#include "harness_fixture.h"

#include <errno.h>

#include <clockwork/concurrency.h>

/* ---- recording ------------------------------------------------------------------ */

static void timer_then(void *arg) {
  (void)arg;
  cw_trace(loop, "timer");
  cw_detach(cw_then(cw_resolved(loop, NULL), trace_then, NULL, "then"));
}

static void phases_script(void *arg) {
  (void)arg;
  cw_trace(loop, "main");
  cw_set_timeout(loop, 5, timer_then, NULL);
  cw_set_immediate(loop, trace_fn, "immediate");
  cw_queue_microtask(loop, trace_fn, "micro");
  cw_next_tick(loop, trace_fn, "tick");
}

static void records_label_time_phase_and_macrotask(void **state) {
  (void)state;
  assert_int_equal(cw_harness_run(h, phases_script, NULL), 0);
  static const cw_trace_entry expected[] = {
      {"main", 0, CW_PHASE_MAIN, 1},           {"tick", 0, CW_PHASE_TICK, 1},
      {"micro", 0, CW_PHASE_MICROTASK, 1},     {"immediate", 0, CW_PHASE_CHECK, 2},
      {"timer", 5, CW_PHASE_TIMERS, 3},        {"then", 5, CW_PHASE_MICROTASK, 3},
  };
  assert_int_equal(cw_trace_count(h), 6);
  for (size_t i = 0; i < 6; i++) {
    const cw_trace_entry *e = cw_trace_get(h, i);
    assert_string_equal(e->label, expected[i].label);
    assert_int_equal(e->time_ms, expected[i].time_ms);
    assert_int_equal(e->phase, expected[i].phase);
    assert_int_equal(e->macrotask, expected[i].macrotask);
  }
  assert_null(cw_trace_get(h, 6));
}

static void outside_a_run_records_phase_none_at_the_clock_time(void **state) {
  (void)state;
  cw_clock_advance(h, 7);
  cw_trace(loop, "idle");
  const cw_trace_entry *e = cw_trace_get(h, 0);
  assert_string_equal(e->label, "idle");
  assert_int_equal(e->time_ms, 7);
  assert_int_equal(e->phase, CW_PHASE_NONE);
  assert_int_equal(e->macrotask, 0);
}

static void labels_are_copied(void **state) {
  (void)state;
  /* more than one block of labels, and one label longer than a block */
  char label[6000];
  for (int i = 0; i < 2000; i++) {
    snprintf(label, sizeof label, "label-%d", i);
    cw_trace(loop, label);
  }
  memset(label, 'x', sizeof label - 1);
  label[sizeof label - 1] = '\0';
  cw_trace(loop, label);
  cw_trace(loop, "last");
  label[0] = 'y';

  assert_int_equal(cw_trace_count(h), 2002);
  for (int i = 0; i < 2000; i++) {
    char expected[24];
    snprintf(expected, sizeof expected, "label-%d", i);
    assert_string_equal(cw_trace_get(h, (size_t)i)->label, expected);
  }
  label[0] = 'x';
  assert_string_equal(cw_trace_get(h, 2000)->label, label);
  assert_string_equal(cw_trace_get(h, 2001)->label, "last");
}

static void clear_empties_the_trace(void **state) {
  (void)state;
  cw_trace(loop, "before");
  cw_trace_clear(h);
  assert_int_equal(cw_trace_count(h), 0);
  assert_null(cw_trace_get(h, 0));
  cw_trace(loop, "after");
  assert_int_equal(cw_trace_count(h), 1);
  assert_string_equal(cw_trace_get(h, 0)->label, "after");
}

static void without_a_harness_nothing_is_recorded(void **state) {
  (void)state;
  cw_loop *plain = cw_loop_new();
  assert_non_null(plain);
  cw_trace(plain, "ignored"); /* no harness: no trace, no failure, no crash */
  cw_loop_free(plain);
  assert_int_equal(cw_trace_count(NULL), 0);
  assert_null(cw_trace_get(NULL, 0));
}

static void another_loop_or_no_label_is_a_failure(void **state) {
  (void)state;
  cw_loop *other = cw_loop_new();
  assert_non_null(other);
  int b_at = LINE_OF(cw_trace(other, "B"));
  int c_at = LINE_OF(cw_trace(NULL, "C"));
  int null_at = LINE_OF(cw_trace(loop, NULL));
  cw_loop_free(other);
  assert_int_equal(cw_trace_count(h), 0);
  expect_failure(__FILE__, b_at, "cw_trace(\"B\"): the loop is not the harness's; not recorded");
  expect_failure(__FILE__, c_at, "cw_trace(\"C\"): the loop is not the harness's; not recorded");
  expect_failure(__FILE__, null_at, "cw_trace: the label is NULL");
  assert_int_equal(cw_harness_failures(h), 3);
}

/* ---- assertions ------------------------------------------------------------------ */

static void expect_holds_on_the_exact_sequence(void **state) {
  (void)state;
  assert_true(cw_trace_expect(h, ""));
  assert_int_equal(cw_harness_run(h, predict_order_script, NULL), 0);
  assert_true(cw_trace_expect(h, "A E C D B"));
  assert_true(cw_trace_expect(h, "  A\tE C\nD   B "));
  assert_int_equal(cw_harness_failures(h), 0);
}

static void expect_marks_the_first_divergence(void **state) {
  (void)state;
  assert_int_equal(cw_harness_run(h, predict_order_script, NULL), 0);
  assert_false(cw_trace_expect_at(h, "A E D C B", "site.c", 7));
  expect_failure("site.c", 7,
                 "the trace differs from the expected one at entry 2 (5 expected, 5 recorded):\n"
                 "   #  expected  actual    time  phase      macrotask\n"
                 "   0  A         A         0 ms  main       1\n"
                 "   1  E         E         0 ms  main       1\n"
                 ">> 2  D         C         0 ms  microtask  1\n"
                 "   3  C         D         0 ms  microtask  1\n"
                 "   4  B         B         1 ms  timers     2");
}

static void expect_shows_missing_and_extra_entries(void **state) {
  (void)state;
  assert_int_equal(cw_harness_run(h, predict_order_script, NULL), 0);
  assert_false(cw_trace_expect_at(h, "A E C", "site.c", 8));
  expect_failure("site.c", 8,
                 "the trace differs from the expected one at entry 3 (3 expected, 5 recorded):\n"
                 "   #  expected  actual    time  phase      macrotask\n"
                 "   0  A         A         0 ms  main       1\n"
                 "   1  E         E         0 ms  main       1\n"
                 "   2  C         C         0 ms  microtask  1\n"
                 ">> 3  (none)    D         0 ms  microtask  1\n"
                 "   4  (none)    B         1 ms  timers     2");
  assert_false(cw_trace_expect_at(h, "A E C D B finally", "site.c", 9));
  expect_failure("site.c", 9,
                 "the trace differs from the expected one at entry 5 (6 expected, 5 recorded):\n"
                 "   #  expected  actual    time  phase      macrotask\n"
                 "   0  A         A         0 ms  main       1\n"
                 "   1  E         E         0 ms  main       1\n"
                 "   2  C         C         0 ms  microtask  1\n"
                 "   3  D         D         0 ms  microtask  1\n"
                 "   4  B         B         1 ms  timers     2\n"
                 ">> 5  finally   (none)");
}

static void a_long_trace_is_shown_around_the_divergence(void **state) {
  (void)state;
  char expected[1024] = "", label[16];
  for (int i = 0; i < 100; i++) {
    snprintf(label, sizeof label, "e%d", i);
    cw_trace(loop, label);
    strcat(expected, i == 50 ? "x " : label);
    if (i != 50)
      strcat(expected, " ");
  }
  assert_false(cw_trace_expect_at(h, expected, "site.c", 10));
  char body[4096] = "the trace differs from the expected one at entry 50 (100 expected, 100 recorded):\n"
                    "    #  expected  actual    time  phase      macrotask\n"
                    "   (40 rows before)";
  for (int i = 40; i < 80; i++) {
    char row[128];
    snprintf(label, sizeof label, "e%d", i);
    snprintf(row, sizeof row, "\n%s %2d  %-8s  %-8s  0 ms  none       0", i == 50 ? ">>" : "  ", i,
             i == 50 ? "x" : label, label);
    strcat(body, row);
  }
  strcat(body, "\n   (20 more rows)");
  expect_failure("site.c", 10, body);
}

static void before_reports_order_and_absence(void **state) {
  (void)state;
  assert_int_equal(cw_harness_run(h, predict_order_script, NULL), 0);
  assert_true(cw_trace_before(h, "A", "B"));
  assert_true(cw_trace_before(h, "C", "D"));
  assert_false(cw_trace_before_at(h, "B", "C", "site.c", 11));
  expect_failure("site.c", 11,
                 "expected \"B\" before \"C\", but \"C\" was first recorded at entry 2 and \"B\" at entry 4:\n"
                 "   #  label  time  phase      macrotask\n"
                 "   0  A      0 ms  main       1\n"
                 "   1  E      0 ms  main       1\n"
                 ">> 2  C      0 ms  microtask  1\n"
                 "   3  D      0 ms  microtask  1\n"
                 ">> 4  B      1 ms  timers     2");
  assert_false(cw_trace_before_at(h, "E", "Z", "site.c", 12));
  expect_failure("site.c", 12,
                 "expected \"E\" before \"Z\", but \"Z\" was never recorded:\n"
                 "   #  label  time  phase      macrotask\n"
                 "   0  A      0 ms  main       1\n"
                 ">> 1  E      0 ms  main       1\n"
                 "   2  C      0 ms  microtask  1\n"
                 "   3  D      0 ms  microtask  1\n"
                 "   4  B      1 ms  timers     2");
}

static void in_phase_reports_the_phase_recorded(void **state) {
  (void)state;
  assert_int_equal(cw_harness_run(h, predict_order_script, NULL), 0);
  assert_true(cw_trace_in_phase(h, "A", CW_PHASE_MAIN));
  assert_true(cw_trace_in_phase(h, "C", CW_PHASE_MICROTASK));
  assert_true(cw_trace_in_phase(h, "B", CW_PHASE_TIMERS));
  assert_false(cw_trace_in_phase_at(h, "B", CW_PHASE_CHECK, "site.c", 13));
  expect_failure("site.c", 13,
                 "expected \"B\" in phase check, but it was first recorded in phase timers:\n"
                 "   #  label  time  phase      macrotask\n"
                 "   0  A      0 ms  main       1\n"
                 "   1  E      0 ms  main       1\n"
                 "   2  C      0 ms  microtask  1\n"
                 "   3  D      0 ms  microtask  1\n"
                 ">> 4  B      1 ms  timers     2");
  cw_trace_clear(h);
  assert_false(cw_trace_in_phase_at(h, "B", CW_PHASE_TIMERS, "site.c", 14));
  expect_failure("site.c", 14,
                 "expected \"B\" in phase timers, but \"B\" was never recorded:\n"
                 "   #  label  time  phase      macrotask\n"
                 "   (the trace is empty)");
}

static void same_macrotask_spans_a_macrotask_and_its_drain(void **state) {
  (void)state;
  assert_int_equal(cw_harness_run(h, predict_order_script, NULL), 0);
  assert_true(cw_trace_same_macrotask(h, "A", "D"));
  assert_false(cw_trace_same_macrotask_at(h, "D", "B", "site.c", 15));
  expect_failure("site.c", 15,
                 "expected \"D\" and \"B\" in the same macrotask, but \"D\" ran in macrotask 1 and \"B\" in macrotask 2:\n"
                 "   #  label  time  phase      macrotask\n"
                 "   0  A      0 ms  main       1\n"
                 "   1  E      0 ms  main       1\n"
                 "   2  C      0 ms  microtask  1\n"
                 ">> 3  D      0 ms  microtask  1\n"
                 ">> 4  B      1 ms  timers     2");
}

/* ---- JSON lines -------------------------------------------------------------------- */

static void json_lines_escape_labels(void **state) {
  (void)state;
  cw_trace(loop, "plain");
  cw_clock_advance(h, 12);
  cw_trace(loop, "quote\" back\\slash");
  cw_trace(loop, "tab\t nl\n cr\r ctl\x01\x1f del\x7f utf-8 \xc3\xa9");
  char path[32];
  temp_file(path);
  assert_int_equal(cw_trace_write_json(h, path), 0);
  char *json = read_file(path);
  unlink(path);
  assert_string_equal(json,
                      "{\"label\": \"plain\", \"time_ms\": 0, \"phase\": \"none\", \"macrotask\": 0}\n"
                      "{\"label\": \"quote\\\" back\\\\slash\", \"time_ms\": 12, \"phase\": \"none\", \"macrotask\": 0}\n"
                      "{\"label\": \"tab\\t nl\\n cr\\r ctl\\u0001\\u001f del\x7f utf-8 \xc3\xa9\", \"time_ms\": 12, "
                      "\"phase\": \"none\", \"macrotask\": 0}\n");
  free(json);
}

static void json_write_errors_are_negative_errno(void **state) {
  (void)state;
  cw_trace(loop, "A");
  assert_int_equal(cw_trace_write_json(h, "/nonexistent-directory/trace.json"), -ENOENT);
  assert_int_equal(cw_trace_write_json(h, "/dev/full"), -ENOSPC);
  assert_int_equal(cw_trace_write_json(h, NULL), -EINVAL);
}

/* ---- the same seed, the same trace --------------------------------------------------- */

/* A program whose timings come from the seeded generator: delays, and
 * whether each step continues in a microtask or an immediate. */
static char step_labels[24][2][16];

static void step(void *arg) {
  char (*labels)[16] = arg;
  cw_trace(loop, labels[0]);
  if (cw_random(loop) & 1)
    cw_queue_microtask(loop, trace_fn, labels[1]);
  else
    cw_set_immediate(loop, trace_fn, labels[1]);
}

static void seeded_script(void *arg) {
  (void)arg;
  for (int i = 0; i < 24; i++) {
    snprintf(step_labels[i][0], 16, "t%d", i);
    snprintf(step_labels[i][1], 16, "c%d", i);
    cw_set_timeout(loop, cw_random(loop) % 20, step, step_labels[i]);
  }
}

/* The child: the seed from CW_SEED, the trace written by teardown to CW_TRACE. */
static int run_seeded_program(void) {
  h = cw_harness_new(&(cw_harness_opts){.shuffle = true});
  loop = cw_harness_loop(h);
  int rc = cw_harness_run(h, seeded_script, NULL);
  cw_harness_free(h);
  return rc == 0 ? 0 : 1;
}

static char *seeded_trace(const char *seed) {
  char path[32];
  temp_file(path);
  setenv("CW_SEED", seed, 1);
  setenv("CW_TRACE", path, 1);
  char output[4096];
  int status = run_self("seeded-program", output, sizeof output);
  unsetenv("CW_SEED");
  unsetenv("CW_TRACE");
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    fail_msg("the seeded program failed:\n%s", output);
  char *json = read_file(path);
  unlink(path);
  return json;
}

static size_t count_lines(const char *text) {
  size_t n = 0;
  for (; *text; text++)
    n += *text == '\n';
  return n;
}

static void the_same_seed_gives_a_byte_identical_trace(void **state) {
  (void)state;
  char *first = seeded_trace("7"), *again = seeded_trace("7"), *other = seeded_trace("8");
  assert_int_equal(count_lines(first), 48);
  assert_string_equal(first, again);
  assert_string_not_equal(first, other);
  free(first);
  free(again);
  free(other);
}

int main(int argc, char **argv) {
  child_self = argv[0];
  if (argc == 2 && strcmp(argv[1], "seeded-program") == 0)
    return run_seeded_program();
  const struct CMUnitTest tests[] = {
      harness_test(records_label_time_phase_and_macrotask),
      harness_test(outside_a_run_records_phase_none_at_the_clock_time),
      harness_test(labels_are_copied),
      harness_test(clear_empties_the_trace),
      cmocka_unit_test(without_a_harness_nothing_is_recorded),
      harness_test(another_loop_or_no_label_is_a_failure),
      harness_test(expect_holds_on_the_exact_sequence),
      harness_test(expect_marks_the_first_divergence),
      harness_test(expect_shows_missing_and_extra_entries),
      harness_test(a_long_trace_is_shown_around_the_divergence),
      harness_test(before_reports_order_and_absence),
      harness_test(in_phase_reports_the_phase_recorded),
      harness_test(same_macrotask_spans_a_macrotask_and_its_drain),
      harness_test(json_lines_escape_labels),
      harness_test(json_write_errors_are_negative_errno),
      cmocka_unit_test(the_same_seed_gives_a_byte_identical_trace),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
