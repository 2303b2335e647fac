/* The fake DNS: the table answers, unknown names fail with UV_EAI_NONAME,
 * the table is read when a resolve completes, rules give latency and
 * faults on "dns.resolve" by name, and bad arguments fail naming them. */
#include <clockwork/fakes.h>

#include "harness_fixture.h"

/* Resolves name: "name=addr@t" or "name:UV_X@t". */
static void resolve(const char *name) {
  char addr[46] = "";
  cw_result r = cw_await(cw_dns_resolve(loop, name, addr));
  unsigned long long t = (unsigned long long)cw_clock_now(h);
  if (r.state == CW_REJECTED)
    rec_fmt("%s:%s@%llu", name, cw_err_name(r.error), t);
  else
    rec_fmt("%s=%s%s@%llu", name, addr, r.value == addr ? "" : "(not the value)", t);
}

static cw_result resolve_names(void *names) {
  for (const char *const *name = names; *name; name++)
    resolve(*name);
  return cw_ok(NULL);
}

static void spawn_resolver(void *names) { cw_detach(cw_spawn(loop, resolve_names, names)); }

#define run(...) \
  assert_int_equal(cw_harness_run(h, spawn_resolver, (const char *[]){__VA_ARGS__, NULL}), 0)

static void the_table_answers(void **state) {
  (void)state;
  assert_int_equal(cw_fake_dns_add(h, "db.internal", "10.0.0.7"), 0);
  assert_int_equal(cw_fake_dns_add(h, "v6.internal", "fd00::1:2:3:4"), 0);
  assert_int_equal(cw_fake_dns_add(h, "moved.internal", "10.0.0.1"), 0);
  assert_int_equal(cw_fake_dns_add(h, "moved.internal", "10.0.0.2"), 0); /* replaces */
  run("db.internal", "v6.internal", "moved.internal", "nowhere.internal", "DB.internal");
  assert_rec("db.internal=10.0.0.7@0 v6.internal=fd00::1:2:3:4@0 moved.internal=10.0.0.2@0 "
             "nowhere.internal:UV_EAI_NONAME@0 DB.internal:UV_EAI_NONAME@0");
}

static void add_late(void *arg) {
  (void)arg;
  assert_int_equal(cw_fake_dns_add(h, "late.internal", "10.0.0.9"), 0);
}

static void started_before_the_entry(void *arg) {
  (void)arg;
  cw_set_timeout(loop, 10, add_late, NULL);
  static const char *late[] = {"late.internal", NULL};
  spawn_resolver(late);
}

/* A resolve takes its rules' latency and reads the table at its end. */
static void rules_give_latency_and_the_table_is_read_at_the_end(void **state) {
  (void)state;
  assert_non_null(cw_fake_rule(h, &(cw_rule_spec){.op = "dns.resolve",
                                                  .latency = {CW_LATENCY_FIXED, 30, 0}}));
  assert_int_equal(cw_harness_run(h, started_before_the_entry, NULL), 0);
  assert_rec("late.internal=10.0.0.9@30");
}

/* Faults by name: an error code (a short fault is one too). */
static void rules_fail_resolves_by_name(void **state) {
  (void)state;
  cw_fake_dns_add(h, "a.internal", "10.0.0.1");
  cw_fake_dns_add(h, "b.internal", "10.0.0.2");
  cw_fake_dns_add(h, "c.internal", "10.0.0.3");
  cw_rule *timeout = cw_fake_rule(h, &(cw_rule_spec){.op = "dns.resolve", .match = "a.*",
                                                     .latency = {CW_LATENCY_FIXED, 5, 0},
                                                     .fault = {CW_FAULT_ERROR, UV_EAI_AGAIN}});
  cw_fake_rule(h, &(cw_rule_spec){.op = "dns.*", .match = "b.internal", .fault = {CW_FAULT_SHORT, 0}});
  run("a.internal", "b.internal", "c.internal");
  assert_rec("a.internal:UV_EAI_AGAIN@5 b.internal:UV_EIO@5 c.internal=10.0.0.3@5");
  assert_int_equal(cw_rule_matches(timeout), 1);
}

static const cw_harness_opts allow_tasks = {.seed = CAPTURE_SEED, .allow = CW_ALLOW_TASKS};

/* A hung resolve waits until loop free cancels it; its task stays
 * suspended (allowed here). */
static void a_hung_resolve_waits_for_loop_free(void **state) {
  (void)state;
  cw_fake_dns_add(h, "a.internal", "10.0.0.1");
  cw_fake_rule(h, &(cw_rule_spec){.op = "dns.resolve", .fault = {CW_FAULT_HANG, 0}});
  run("a.internal");
  assert_rec("");
  assert_int_equal(cw_io_in_flight(loop), 1);
}

static void bad_arguments_fail_naming_them(void **state) {
  (void)state;
  int at = LINE_OF(assert_int_equal(cw_fake_dns_add(h, NULL, "10.0.0.1"), UV_EINVAL));
  expect_failure(__FILE__, at, "cw_fake_dns_add: name is NULL");
  at = LINE_OF(assert_int_equal(cw_fake_dns_add(h, "a", NULL), UV_EINVAL));
  expect_failure(__FILE__, at, "cw_fake_dns_add: addr is NULL");
  char long_addr[64];
  memset(long_addr, '1', sizeof long_addr - 1);
  long_addr[sizeof long_addr - 1] = '\0';
  at = LINE_OF(assert_int_equal(cw_fake_dns_add(h, "a", long_addr), UV_EINVAL));
  expect_failure(__FILE__, at, "cw_fake_dns_add: addr is longer than an IPv6 address (45 bytes)");
  run("a");
  assert_rec("a:UV_EAI_NONAME@0");
}

int main(void) {
  const struct CMUnitTest tests[] = {
    harness_test(the_table_answers),
    harness_test(rules_give_latency_and_the_table_is_read_at_the_end),
    harness_test(rules_fail_resolves_by_name),
    harness_test_with(a_hung_resolve_waits_for_loop_free, (void *)&allow_tasks),
    harness_test(bad_arguments_fail_naming_them),
  };
  return cmocka_run_group_tests_name("fakes: dns", tests, NULL, NULL);
}
