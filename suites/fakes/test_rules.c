/* Rules of the fakes: latencies (fixed, uniform, exponential, seeded),
 * triggers (always, nth, once, probability, window), faults (error, short,
 * hang, reset) on work.run and the fake file system, counts, removal,
 * composition, and the exact failure for each invalid spec. */
#include "harness_fixture.h"

#include <math.h>

#include <clockwork/fakes.h>

/* ---- operations and their outcomes ------------------------------------------------- */

typedef struct outcome {
  bool settled;
  uint64_t at_ms; /* virtual time it settled */
  int error;      /* 0: fulfilled */
  void *value;
} outcome;

static cw_result on_ok(void *arg, cw_result in) {
  outcome *o = arg;
  *o = (outcome){true, cw_clock_now(h), 0, in.value};
  return cw_ok(NULL);
}

static cw_result on_err(void *arg, cw_result in) {
  outcome *o = arg;
  *o = (outcome){true, cw_clock_now(h), in.error, NULL};
  return cw_ok(NULL);
}

static void watch(cw_promise *p, outcome *o) { cw_detach(cw_then(p, on_ok, on_err, o)); }

static void *answer(void *arg) { return arg; }

enum { MANY = 2000 };
static outcome outcomes[MANY];
static size_t n_ops;

/* n work.run operations, issued at once from main. */
static void issue_work(void *arg) {
  (void)arg;
  for (size_t i = 0; i < n_ops; i++)
    watch(cw_work(loop, answer, &outcomes[i]), &outcomes[i]);
}

static void run_work(size_t n) {
  memset(outcomes, 0, sizeof outcomes);
  n_ops = n;
  assert_int_equal(cw_harness_run(h, issue_work, NULL), 0);
}

/* One work.run at each of times_ms (virtual), outcome i for the i-th. */
static const uint64_t *start_times;

static void start_one(void *arg) {
  outcome *o = arg;
  watch(cw_work(loop, answer, o), o);
}

static void issue_at_times(void *arg) {
  (void)arg;
  for (size_t i = 0; i < n_ops; i++)
    cw_set_timeout(loop, start_times[i], start_one, &outcomes[i]);
}

static void run_work_at(const uint64_t *times_ms, size_t n) {
  memset(outcomes, 0, sizeof outcomes);
  n_ops = n;
  start_times = times_ms;
  assert_int_equal(cw_harness_run(h, issue_at_times, NULL), 0);
}

static cw_rule *rule(cw_rule_spec spec) {
  cw_rule *r = cw_fake_rule(h, &spec);
  assert_non_null(r);
  return r;
}

#define WORK_FAULT(kind_, code_, trigger_)                                                                     \
  (cw_rule_spec) { .op = "work.run", .fault = {kind_, code_}, .trigger = trigger_ }

/* ---- latency ---------------------------------------------------------------------- */

static void without_rules_operations_complete_at_once(void **state) {
  (void)state;
  run_work(3);
  for (size_t i = 0; i < 3; i++) {
    assert_true(outcomes[i].settled);
    assert_int_equal(outcomes[i].at_ms, 0);
    assert_ptr_equal(outcomes[i].value, &outcomes[i]);
  }
}

static void fixed_latency_delays_by_exactly_ms(void **state) {
  (void)state;
  cw_rule *r = rule((cw_rule_spec){.op = "work.run", .latency = {CW_LATENCY_FIXED, 25, 0}});
  run_work(4);
  for (size_t i = 0; i < 4; i++) {
    assert_int_equal(outcomes[i].at_ms, 25);
    assert_int_equal(outcomes[i].error, 0);
  }
  assert_int_equal(cw_rule_matches(r), 4);
  assert_int_equal(cw_rule_applied(r), 4);
}

static void a_fraction_of_a_ms_completes_at_the_next_ms(void **state) {
  (void)state;
  rule((cw_rule_spec){.op = "work.run", .latency = {CW_LATENCY_FIXED, 2.25, 0}});
  run_work(1);
  assert_int_equal(outcomes[0].at_ms, 3);
}

static void uniform_latency_stays_within_bounds_and_covers_them(void **state) {
  (void)state;
  rule((cw_rule_spec){.op = "work.run", .latency = {CW_LATENCY_UNIFORM, 10, 20}});
  run_work(MANY);
  uint64_t lo = UINT64_MAX, hi = 0, sum = 0;
  size_t below_15 = 0;
  for (size_t i = 0; i < MANY; i++) {
    uint64_t t = outcomes[i].at_ms;
    lo = t < lo ? t : lo;
    hi = t > hi ? t : hi;
    sum += t;
    below_15 += t <= 15;
  }
  /* completions land on the ms after the drawn latency: 11 to 20, mean 15.5 */
  assert_int_equal(lo, 11);
  assert_int_equal(hi, 20);
  double mean = (double)sum / MANY;
  assert_true(fabs(mean - 15.5) < 0.3);
  assert_true(below_15 > MANY * 45 / 100 && below_15 < MANY * 55 / 100);
  /* seed 1 draws these, always */
  static const uint64_t first[8] = {18, 16, 16, 14, 17, 12, 11, 14};
  for (size_t i = 0; i < 8; i++)
    assert_int_equal(outcomes[i].at_ms, first[i]);
}

static void exponential_latency_has_the_mean_given(void **state) {
  (void)state;
  rule((cw_rule_spec){.op = "work.run", .latency = {CW_LATENCY_EXPONENTIAL, 8, 0}});
  run_work(MANY);
  uint64_t sum = 0;
  size_t above_mean = 0;
  for (size_t i = 0; i < MANY; i++) {
    sum += outcomes[i].at_ms;
    above_mean += outcomes[i].at_ms > 8;
  }
  /* the next ms after an exponential draw of mean 8 has mean 1/(1 - e^(-1/8)) */
  double mean = (double)sum / MANY, expected = 1 / (1 - exp(-1.0 / 8));
  assert_true(fabs(mean - expected) < 0.55); /* 3 standard errors */
  /* P(X > 8) = 1/e */
  assert_true(fabs((double)above_mean / MANY - exp(-1)) < 0.035);
  static const uint64_t first[8] = {10, 6, 7, 4, 10, 2, 1, 4};
  for (size_t i = 0; i < 8; i++)
    assert_int_equal(outcomes[i].at_ms, first[i]);
}

static void the_same_seed_draws_the_same_latencies(void **state) {
  (void)state;
  cw_rule_spec spec = {.op = "work.run", .latency = {CW_LATENCY_UNIFORM, 0, 1000}};
  rule(spec);
  run_work(50);
  uint64_t first_run[50];
  for (size_t i = 0; i < 50; i++)
    first_run[i] = outcomes[i].at_ms;
  cw_harness_free(h);
  cw_harness_opts opts = capture_opts(0);
  h = cw_harness_new(&opts);
  loop = cw_harness_loop(h);
  rule(spec);
  run_work(50);
  size_t differ_from_first = 0;
  for (size_t i = 0; i < 50; i++) {
    assert_int_equal(outcomes[i].at_ms, first_run[i]);
    differ_from_first += outcomes[i].at_ms != first_run[0];
  }
  assert_true(differ_from_first > 40);
}

/* ---- triggers ------------------------------------------------------------------------- */

static size_t failed_ops(void) {
  size_t n = 0;
  for (size_t i = 0; i < n_ops; i++)
    n += outcomes[i].error != 0;
  return n;
}

static void always_applies_to_every_match(void **state) {
  (void)state;
  cw_rule *r = rule(WORK_FAULT(CW_FAULT_ERROR, UV_ENOSPC, ((cw_trigger){.kind = CW_TRIGGER_ALWAYS})));
  run_work(5);
  for (size_t i = 0; i < 5; i++) {
    assert_int_equal(outcomes[i].error, UV_ENOSPC);
    assert_int_equal(outcomes[i].at_ms, 0);
  }
  assert_int_equal(cw_rule_matches(r), 5);
  assert_int_equal(cw_rule_applied(r), 5);
}

static void nth_applies_to_the_nth_match_only(void **state) {
  (void)state;
  cw_rule *r = rule(WORK_FAULT(CW_FAULT_ERROR, 0, ((cw_trigger){.kind = CW_TRIGGER_NTH, .n = 3})));
  run_work(5);
  for (size_t i = 0; i < 5; i++)
    assert_int_equal(outcomes[i].error, i == 2 ? UV_EIO : 0);
  assert_int_equal(cw_rule_matches(r), 5);
  assert_int_equal(cw_rule_applied(r), 1);
}

static void once_applies_to_the_first_match_only(void **state) {
  (void)state;
  cw_rule *r = rule(WORK_FAULT(CW_FAULT_ERROR, UV_EACCES, ((cw_trigger){.kind = CW_TRIGGER_ONCE})));
  run_work(4);
  for (size_t i = 0; i < 4; i++)
    assert_int_equal(outcomes[i].error, i == 0 ? UV_EACCES : 0);
  assert_int_equal(cw_rule_matches(r), 4);
  assert_int_equal(cw_rule_applied(r), 1);
}

static void probability_applies_to_that_share_of_matches(void **state) {
  (void)state;
  cw_rule *r = rule(WORK_FAULT(CW_FAULT_ERROR, 0, ((cw_trigger){.kind = CW_TRIGGER_PROBABILITY, .p = 0.3})));
  run_work(MANY);
  size_t failed = failed_ops();
  assert_int_equal(cw_rule_matches(r), MANY);
  assert_int_equal(cw_rule_applied(r), failed);
  assert_true(failed > MANY * 27 / 100 && failed < MANY * 33 / 100); /* 3 standard deviations */
  /* seed 1: which of the first ten fail */
  static const bool first[10] = {false, false, false, false, false, true, true, false, false, false};
  for (size_t i = 0; i < 10; i++)
    assert_int_equal(outcomes[i].error != 0, first[i]);
}

static void probability_0_never_applies_and_1_always(void **state) {
  (void)state;
  cw_rule *never = rule(WORK_FAULT(CW_FAULT_ERROR, UV_ENOSPC, ((cw_trigger){.kind = CW_TRIGGER_PROBABILITY, .p = 0})));
  cw_rule *always = rule(WORK_FAULT(CW_FAULT_ERROR, UV_EACCES, ((cw_trigger){.kind = CW_TRIGGER_PROBABILITY, .p = 1})));
  run_work(100);
  for (size_t i = 0; i < 100; i++)
    assert_int_equal(outcomes[i].error, UV_EACCES);
  assert_int_equal(cw_rule_applied(never), 0);
  assert_int_equal(cw_rule_applied(always), 100);
}

static void window_applies_to_operations_started_inside_it(void **state) {
  (void)state;
  cw_rule *r = rule(
      WORK_FAULT(CW_FAULT_ERROR, UV_ETIMEDOUT, ((cw_trigger){.kind = CW_TRIGGER_WINDOW, .from_ms = 10, .to_ms = 20})));
  static const uint64_t times[] = {5, 9, 10, 15, 19, 20, 30};
  run_work_at(times, 7);
  for (size_t i = 0; i < 7; i++)
    assert_int_equal(outcomes[i].error, times[i] >= 10 && times[i] < 20 ? UV_ETIMEDOUT : 0);
  assert_int_equal(cw_rule_matches(r), 7);
  assert_int_equal(cw_rule_applied(r), 3);
}

static void window_judges_the_start_not_the_completion(void **state) {
  (void)state;
  rule((cw_rule_spec){.op = "work.run", .latency = {CW_LATENCY_FIXED, 10, 0}});
  rule(WORK_FAULT(CW_FAULT_ERROR, 0, ((cw_trigger){.kind = CW_TRIGGER_WINDOW, .from_ms = 0, .to_ms = 5})));
  static const uint64_t times[] = {4, 5};
  run_work_at(times, 2);
  assert_int_equal(outcomes[0].error, UV_EIO); /* started at 4, completed at 14 */
  assert_int_equal(outcomes[0].at_ms, 14);
  assert_int_equal(outcomes[1].error, 0);
  assert_int_equal(outcomes[1].at_ms, 15);
}

/* ---- faults on work.run ------------------------------------------------------------------ */

static void an_error_rejects_with_its_code_after_the_latency(void **state) {
  (void)state;
  rule((cw_rule_spec){.op = "work.run", .latency = {CW_LATENCY_FIXED, 7, 0}, .fault = {CW_FAULT_ERROR, UV_ENOSPC}});
  run_work(1);
  assert_true(outcomes[0].settled);
  assert_int_equal(outcomes[0].error, UV_ENOSPC);
  assert_int_equal(outcomes[0].at_ms, 7);
}

static void a_fault_without_a_code_is_eio(void **state) {
  (void)state;
  rule(WORK_FAULT(CW_FAULT_ERROR, 0, ((cw_trigger){.kind = CW_TRIGGER_NTH, .n = 1})));
  rule(WORK_FAULT(CW_FAULT_SHORT, 0, ((cw_trigger){.kind = CW_TRIGGER_NTH, .n = 2})));
  rule(WORK_FAULT(CW_FAULT_RESET, 0, ((cw_trigger){.kind = CW_TRIGGER_NTH, .n = 3})));
  run_work(3);
  for (size_t i = 0; i < 3; i++)
    assert_int_equal(outcomes[i].error, UV_EIO);
}

static void short_and_reset_are_errors_on_work(void **state) {
  (void)state;
  rule(WORK_FAULT(CW_FAULT_SHORT, UV_ENOSPC, ((cw_trigger){.kind = CW_TRIGGER_NTH, .n = 1})));
  rule(WORK_FAULT(CW_FAULT_RESET, UV_EPIPE, ((cw_trigger){.kind = CW_TRIGGER_NTH, .n = 2})));
  run_work(2);
  assert_int_equal(outcomes[0].error, UV_ENOSPC);
  assert_int_equal(outcomes[1].error, UV_EPIPE);
}

static void a_hang_never_completes(void **state) {
  (void)state;
  rule(WORK_FAULT(CW_FAULT_HANG, 0, ((cw_trigger){.kind = CW_TRIGGER_NTH, .n = 2})));
  run_work(3);
  assert_true(outcomes[0].settled);
  assert_false(outcomes[1].settled);
  assert_true(outcomes[2].settled);
  assert_int_equal(cw_io_in_flight(loop), 1);
  cw_clock_advance(h, 3600 * 1000);
  assert_false(outcomes[1].settled);
  /* cw_harness_free cancels it: its promise never settles */
}

/* ---- faults on the file system ------------------------------------------------------------- */

typedef struct fs_steps {
  const char *path;
  intptr_t wrote, read;
  int open_error, write_error, read_error, close_error;
  char data[64];
} fs_steps;

/* Opens path, writes "0123456789" at 0, reads 10 bytes back at 0, closes. */
static cw_result write_and_read(void *arg) {
  fs_steps *s = arg;
  cw_result r = cw_await(cw_fs_open(loop, s->path, O_RDWR | O_CREAT, 0644));
  if (r.state == CW_REJECTED) {
    s->open_error = r.error;
    return cw_ok(NULL);
  }
  int fd = (int)(intptr_t)r.value;
  r = cw_await(cw_fs_write(loop, fd, "0123456789", 10, 0));
  s->write_error = r.error;
  s->wrote = (intptr_t)r.value;
  r = cw_await(cw_fs_read(loop, fd, s->data, 10, 0));
  s->read_error = r.error;
  s->read = (intptr_t)r.value;
  s->close_error = cw_await(cw_fs_close(loop, fd)).error;
  return cw_ok(NULL);
}

static void spawn_steps(void *arg) { cw_detach(cw_spawn(loop, write_and_read, arg)); }

static void fs_error_fails_the_write_with_no_effect(void **state) {
  (void)state;
  assert_int_equal(cw_fake_fs_put(h, "/data/file", "old", 3), 0);
  cw_rule *r = rule((cw_rule_spec){.op = "fs.write", .match = "/data/*", .fault = {CW_FAULT_ERROR, UV_ENOSPC}});
  fs_steps s = {.path = "/data/file"};
  assert_int_equal(cw_harness_run(h, spawn_steps, &s), 0);
  assert_int_equal(s.open_error, 0);
  assert_int_equal(s.write_error, UV_ENOSPC);
  assert_int_equal(s.read, 3);
  assert_string_equal(s.data, "old");
  assert_int_equal(s.close_error, 0);
  assert_string_equal(cw_fake_fs_get(h, "/data/file", NULL), "old");
  assert_int_equal(cw_rule_matches(r), 1);
}

static void fs_short_write_moves_fewer_bytes(void **state) {
  (void)state;
  rule((cw_rule_spec){.op = "fs.write", .fault = {CW_FAULT_SHORT, 0}});
  fs_steps s = {.path = "/f"};
  assert_int_equal(cw_harness_run(h, spawn_steps, &s), 0);
  assert_int_equal(s.write_error, 0);
  assert_int_equal(s.wrote, 7); /* 1 to 9, seed 1 */
  size_t len;
  assert_string_equal(cw_fake_fs_get(h, "/f", &len), "0123456");
  assert_int_equal(len, 7);
  assert_int_equal(s.read, 7);
}

static void fs_short_read_moves_fewer_bytes(void **state) {
  (void)state;
  rule((cw_rule_spec){.op = "fs.read", .fault = {CW_FAULT_SHORT, 0}});
  fs_steps s = {.path = "/f"};
  assert_int_equal(cw_harness_run(h, spawn_steps, &s), 0);
  assert_int_equal(s.wrote, 10);
  assert_int_equal(s.read_error, 0);
  assert_int_equal(s.read, 7); /* 1 to 9, seed 1 */
  assert_string_equal(s.data, "0123456");
}

static void fs_short_and_reset_elsewhere_are_errors(void **state) {
  (void)state;
  rule((cw_rule_spec){.op = "fs.open", .fault = {CW_FAULT_SHORT, UV_EMFILE}});
  cw_rule *reset = rule((cw_rule_spec){.op = "fs.close", .fault = {CW_FAULT_RESET, 0}});
  fs_steps s = {.path = "/f"};
  assert_int_equal(cw_harness_run(h, spawn_steps, &s), 0);
  assert_int_equal(s.open_error, UV_EMFILE);
  assert_int_equal(cw_fake_fs_type(h, "/f"), 0);
  assert_int_equal(cw_rule_matches(reset), 0);
}

static void fs_close_reset_is_eio_and_releases_the_descriptor(void **state) {
  (void)state;
  rule((cw_rule_spec){.op = "fs.close", .fault = {CW_FAULT_RESET, 0}});
  fs_steps s = {.path = "/f"};
  assert_int_equal(cw_harness_run(h, spawn_steps, &s), 0);
  assert_int_equal(s.close_error, UV_EIO);
  assert_int_equal(cw_fake_fs_open_count(h), 0); /* as Linux, a failed close still closes */
}

static void fs_hang_leaves_the_open_pending(void **state) {
  (void)state;
  rule((cw_rule_spec){.op = "fs.open", .fault = {CW_FAULT_HANG, 0}});
  fs_steps s = {.path = "/f"};
  assert_int_equal(cw_harness_run(h, spawn_steps, &s), 0);
  assert_int_equal(cw_io_in_flight(loop), 1);
  assert_int_equal(cw_fake_fs_type(h, "/f"), 0);
  cw_harness_free(h); /* the task stays suspended: reported */
  h = NULL;
  assert_int_equal(captured.len, 1);
  assert_non_null(strstr(captured.text[0], "still suspended"));
  captured.taken = 1;
  cw_harness_opts opts = capture_opts(0);
  h = cw_harness_new(&opts);
}

/* ---- faults on DNS and the network ---------------------------------------------------------------- */

static char addr[4][46];

static void resolve_and_connect(void *arg) {
  (void)arg;
  watch(cw_dns_resolve(loop, "db", addr[0]), &outcomes[0]);
  watch(cw_dns_resolve(loop, "cache", addr[1]), &outcomes[1]);
  watch(cw_tcp_connect(loop, "db", 5432, NULL), &outcomes[2]);
  watch(cw_tcp_connect(loop, "cache", 6379, NULL), &outcomes[3]);
}

static void dns_matches_the_name_and_net_host_and_port(void **state) {
  (void)state;
  assert_int_equal(cw_fake_dns_add(h, "db", "10.0.0.7"), 0);
  assert_int_equal(cw_fake_dns_add(h, "cache", "10.0.0.8"), 0);
  assert_non_null(cw_fake_net_peer(h, "db", 5432));
  cw_rule *slow_db = rule((cw_rule_spec){.op = "dns.resolve", .match = "db", .latency = {CW_LATENCY_FIXED, 30, 0}});
  cw_rule *reset = rule((cw_rule_spec){.op = "net.connect", .match = "db:5432", .fault = {CW_FAULT_RESET, UV_EPIPE}});
  cw_rule *net = rule((cw_rule_spec){.op = "net.*", .match = "*:6379"});
  memset(outcomes, 0, sizeof outcomes);
  assert_int_equal(cw_harness_run(h, resolve_and_connect, NULL), 0);
  assert_int_equal(outcomes[0].error, 0);
  assert_int_equal(outcomes[0].at_ms, 30);
  assert_string_equal(addr[0], "10.0.0.7");
  assert_int_equal(outcomes[1].error, 0);
  assert_int_equal(outcomes[1].at_ms, 0);
  assert_int_equal(outcomes[2].error, UV_ECONNRESET); /* a reset's code, whatever the rule says */
  assert_int_equal(outcomes[3].error, UV_ECONNREFUSED);
  assert_int_equal(cw_rule_matches(slow_db), 1);
  assert_int_equal(cw_rule_matches(reset), 1);
  assert_int_equal(cw_rule_matches(net), 1);
}

/* ---- matching, counts, removal, composition --------------------------------------------------- */

static void patterns_select_the_kind_and_subject(void **state) {
  (void)state;
  assert_int_equal(cw_fake_fs_put(h, "/data/a", "a", 1), 0);
  assert_int_equal(cw_fake_fs_put(h, "/etc/b", "b", 1), 0);
  cw_rule *data_any = rule((cw_rule_spec){.op = "fs.*", .match = "/data/*"});
  cw_rule *any_write = rule((cw_rule_spec){.op = "fs.write"});
  cw_rule *all = rule((cw_rule_spec){0});
  cw_rule *work = rule((cw_rule_spec){.op = "work.run", .match = ""});
  fs_steps a = {.path = "/data/a"}, b = {.path = "/etc/b"};
  assert_int_equal(cw_harness_run(h, spawn_steps, &a), 0);
  assert_int_equal(cw_harness_run(h, spawn_steps, &b), 0);
  run_work(2);
  assert_int_equal(cw_rule_matches(data_any), 4); /* open, write, read, close of /data/a (by its fd: the path) */
  assert_int_equal(cw_rule_matches(any_write), 2);
  assert_int_equal(cw_rule_matches(all), 10);
  assert_int_equal(cw_rule_matches(work), 2);
  assert_int_equal(cw_rule_applied(all), 10);
}

static void removed_rules_apply_no_more_and_keep_their_counts(void **state) {
  (void)state;
  cw_rule *r = rule((cw_rule_spec){.op = "work.run", .latency = {CW_LATENCY_FIXED, 5, 0}});
  run_work(2);
  assert_int_equal(outcomes[0].at_ms, 5);
  cw_rule_remove(r);
  cw_rule_remove(r);
  run_work(2);
  assert_int_equal(outcomes[0].at_ms, 5); /* the clock was at 5: no latency */
  assert_int_equal(outcomes[1].at_ms, 5);
  assert_int_equal(cw_rule_matches(r), 2);
  assert_int_equal(cw_rule_applied(r), 2);
}

static void latencies_add_and_the_first_fault_wins(void **state) {
  (void)state;
  cw_rule *slow = rule((cw_rule_spec){.op = "work.*", .latency = {CW_LATENCY_FIXED, 10, 0}});
  cw_rule *second = rule((cw_rule_spec){.op = "work.run",
                                        .latency = {CW_LATENCY_FIXED, 5, 0},
                                        .fault = {CW_FAULT_ERROR, UV_ENOSPC},
                                        .trigger = {.kind = CW_TRIGGER_NTH, .n = 2}});
  cw_rule *always = rule(WORK_FAULT(CW_FAULT_ERROR, UV_EACCES, ((cw_trigger){.kind = CW_TRIGGER_ALWAYS})));
  cw_rule *unused = rule((cw_rule_spec){.op = "fs.read", .latency = {CW_LATENCY_FIXED, 100, 0}});
  run_work(3);
  assert_int_equal(outcomes[0].error, UV_EACCES);
  assert_int_equal(outcomes[0].at_ms, 10);
  assert_int_equal(outcomes[1].error, UV_ENOSPC); /* created before "always" */
  assert_int_equal(outcomes[1].at_ms, 15);
  assert_int_equal(outcomes[2].error, UV_EACCES);
  assert_int_equal(outcomes[2].at_ms, 10);
  assert_int_equal(cw_rule_applied(slow), 3);
  assert_int_equal(cw_rule_applied(second), 1);
  assert_int_equal(cw_rule_matches(second), 3);
  assert_int_equal(cw_rule_applied(always), 3); /* applied, though its fault was not the one taken */
  assert_int_equal(cw_rule_matches(unused), 0);
}

static void the_spec_is_copied(void **state) {
  (void)state;
  char op[16] = "work.run", match[8] = "";
  cw_rule_spec spec = {.op = op, .match = match, .latency = {CW_LATENCY_FIXED, 3, 0}};
  cw_rule *r = cw_fake_rule(h, &spec);
  strcpy(op, "fs.read");
  strcpy(match, "x");
  spec.latency.ms = 50;
  run_work(1);
  assert_int_equal(outcomes[0].at_ms, 3);
  assert_int_equal(cw_rule_matches(r), 1);
}

/* ---- invalid specs ------------------------------------------------------------------------------ */

/* cw_fake_rule refuses spec with a failure at its call, body the message. */
static void invalid(cw_rule_spec spec, const char *body) {
  cw_rule *r;
  int at = LINE_OF(r = cw_fake_rule(h, &spec));
  assert_null(r);
  expect_failure(__FILE__, at, body);
  assert_int_equal(unchecked_failures(), 0);
  capture_reset();
}

static void invalid_specs_fail_naming_the_field(void **state) {
  (void)state;
  int at = LINE_OF(assert_null(cw_fake_rule(h, NULL)));
  expect_failure(__FILE__, at, "cw_fake_rule: spec is NULL");
  invalid((cw_rule_spec){.op = "fs.raed"},
          "cw_fake_rule: op \"fs.raed\" matches no operation (names are \"fs.read\", \"net.connect\", ...)");
  invalid((cw_rule_spec){.latency = {7, 1, 0}}, "cw_fake_rule: latency.kind is 7: not a cw_latency_kind");
  invalid((cw_rule_spec){.latency = {CW_LATENCY_FIXED, -1, 0}},
          "cw_fake_rule: latency.ms is -1: a latency is a finite number of ms, at least 0");
  invalid((cw_rule_spec){.latency = {CW_LATENCY_EXPONENTIAL, NAN, 0}},
          "cw_fake_rule: latency.ms is nan: a latency is a finite number of ms, at least 0");
  invalid((cw_rule_spec){.latency = {CW_LATENCY_FIXED, INFINITY, 0}},
          "cw_fake_rule: latency.ms is inf: a latency is a finite number of ms, at least 0");
  invalid((cw_rule_spec){.latency = {CW_LATENCY_UNIFORM, 10, 5}},
          "cw_fake_rule: latency.max_ms is 5: a uniform latency needs a finite max_ms, at least ms (10)");
  invalid((cw_rule_spec){.fault = {9, 0}}, "cw_fake_rule: fault.kind is 9: not a cw_fault_kind");
  invalid((cw_rule_spec){.fault = {CW_FAULT_ERROR, 5}},
          "cw_fake_rule: fault.code is 5: a code is a negative libuv code (UV_EIO), or 0 for UV_EIO");
  invalid((cw_rule_spec){.trigger = {.kind = 12}}, "cw_fake_rule: trigger.kind is 12: not a cw_trigger_kind");
  invalid((cw_rule_spec){.trigger = {.kind = CW_TRIGGER_NTH, .n = 0}},
          "cw_fake_rule: trigger.n is 0: the nth match counts from 1");
  invalid((cw_rule_spec){.trigger = {.kind = CW_TRIGGER_PROBABILITY, .p = 1.5}},
          "cw_fake_rule: trigger.p is 1.5: a probability is between 0 and 1");
  invalid((cw_rule_spec){.trigger = {.kind = CW_TRIGGER_PROBABILITY, .p = -0.25}},
          "cw_fake_rule: trigger.p is -0.25: a probability is between 0 and 1");
  invalid((cw_rule_spec){.trigger = {.kind = CW_TRIGGER_PROBABILITY, .p = NAN}},
          "cw_fake_rule: trigger.p is nan: a probability is between 0 and 1");
  invalid((cw_rule_spec){.trigger = {.kind = CW_TRIGGER_WINDOW, .from_ms = 20, .to_ms = 20}},
          "cw_fake_rule: trigger.to_ms is 20: the window ends after from_ms (20)");
  /* nothing was added: operations run plain */
  run_work(1);
  assert_int_equal(outcomes[0].at_ms, 0);
  assert_int_equal(outcomes[0].error, 0);
}

static void a_null_rule_is_reported(void **state) {
  (void)state;
  int at = LINE_OF(cw_rule_remove(NULL));
  expect_failure(__FILE__, at, "cw_rule_remove: r is NULL");
  assert_int_equal(cw_rule_matches(NULL), 0);
  assert_int_equal(cw_rule_applied(NULL), 0);
}

int main(int argc, char **argv) {
  (void)argc;
  child_self = argv[0];
  const struct CMUnitTest tests[] = {
      harness_test(without_rules_operations_complete_at_once),
      harness_test(fixed_latency_delays_by_exactly_ms),
      harness_test(a_fraction_of_a_ms_completes_at_the_next_ms),
      harness_test(uniform_latency_stays_within_bounds_and_covers_them),
      harness_test(exponential_latency_has_the_mean_given),
      harness_test(the_same_seed_draws_the_same_latencies),
      harness_test(always_applies_to_every_match),
      harness_test(nth_applies_to_the_nth_match_only),
      harness_test(once_applies_to_the_first_match_only),
      harness_test(probability_applies_to_that_share_of_matches),
      harness_test(probability_0_never_applies_and_1_always),
      harness_test(window_applies_to_operations_started_inside_it),
      harness_test(window_judges_the_start_not_the_completion),
      harness_test(an_error_rejects_with_its_code_after_the_latency),
      harness_test(a_fault_without_a_code_is_eio),
      harness_test(short_and_reset_are_errors_on_work),
      harness_test(a_hang_never_completes),
      harness_test(fs_error_fails_the_write_with_no_effect),
      harness_test(fs_short_write_moves_fewer_bytes),
      harness_test(fs_short_read_moves_fewer_bytes),
      harness_test(fs_short_and_reset_elsewhere_are_errors),
      harness_test(fs_close_reset_is_eio_and_releases_the_descriptor),
      harness_test(fs_hang_leaves_the_open_pending),
      harness_test(dns_matches_the_name_and_net_host_and_port),
      harness_test(patterns_select_the_kind_and_subject),
      harness_test(removed_rules_apply_no_more_and_keep_their_counts),
      harness_test(latencies_add_and_the_first_fault_wins),
      harness_test(the_spec_is_copied),
      harness_test(invalid_specs_fail_naming_the_field),
      harness_test(a_null_rule_is_reported),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
