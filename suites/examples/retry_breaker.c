/* Example 3, with_retry (the exercise in async-patterns-guide.txt): a charge
 * to a flaky payment service, retried with exponential backoff, through a
 * circuit breaker. Retry rides out a brief outage; the breaker stops calling
 * a service that stays down, failing fast until it has had time to recover. */
#include <clockwork/cmocka.h>
#include <clockwork/concurrency.h>
#include <clockwork/fakes.h>

#include <stdio.h>
#include <string.h>

/* ---- the program ------------------------------------------------------------------ */

typedef struct payments {
  cw_loop *loop;
  cw_breaker *breaker;
  cw_retry_opts retry;
} payments;

/* The service's side of a charge; in the tests the fakes decide its fate. */
static void *charge_card(void *order) { return order; }

static cw_promise *call_service(void *arg) {
  payments *p = arg;
  cw_trace(p->loop, "call"); /* does nothing outside the harness */
  return cw_work(p->loop, charge_card, p);
}

static cw_promise *through_breaker(void *arg) {
  payments *p = arg;
  return cw_breaker_call(p->breaker, call_service, p);
}

/* An open breaker is not retried: the wait would not close it sooner. */
static bool worth_retrying(void *arg, int error) {
  (void)arg;
  return error != CW_EOPEN;
}

/* 3 attempts, 100 ms then 200 ms apart; the breaker opens after 4 failures
 * in a row and lets a trial call through 1 s later. jitter: 0 for none. */
static void payments_init(payments *p, cw_loop *loop, double jitter) {
  p->loop = loop;
  p->breaker = cw_breaker_new(loop, &(cw_breaker_opts){.failure_threshold = 4, .reset_ms = 1000});
  p->retry = (cw_retry_opts){
      .attempts = 3, .base_ms = 100, .factor = 2, .jitter = jitter, .retryable = worth_retrying};
}

/* Charges the card: fulfils once the service accepted it, or rejects with
 * its last error, or CW_EOPEN while the breaker is open. */
static cw_promise *with_retry(payments *p) { return cw_retry(p->loop, through_breaker, p, &p->retry); }

/* ---- the tests ---------------------------------------------------------------------- */

static payments pay;

static int setup(void **state) {
  int rc = cw_test_setup(state);
  if (rc == 0)
    payments_init(&pay, cw_harness_loop(cw_test_harness(state)), 0);
  return rc;
}

static int teardown(void **state) {
  cw_breaker_free(pay.breaker);
  return cw_test_teardown(state);
}
/* Seed 1 whatever CW_SEED says: the jitter test expects its draws. */
static const cw_harness_opts seed_1 = {.seed = 1};
#define payments_test(fn) cmocka_unit_test_prestate_setup_teardown(fn, setup, teardown, (void *)&seed_1)

/* The service fails every call made from from_ms to before to_ms (virtual). */
static void service_down(cw_harness *h, uint64_t from_ms, uint64_t to_ms) {
  cw_rule_spec down = {.op = "work.run",
                       .fault = {CW_FAULT_ERROR, UV_ECONNRESET},
                       .trigger = {CW_TRIGGER_WINDOW, .from_ms = from_ms, .to_ms = to_ms}};
  assert_non_null(cw_fake_rule(h, &down));
}

/* A charge, its outcome traced as "paid" or the error's name. */
static cw_result outcome(void *arg, cw_result in) {
  (void)arg;
  cw_trace(pay.loop, in.state == CW_FULFILLED ? "paid" : cw_err_name(in.error));
  return cw_ok(NULL);
}

static void charge(void *arg) {
  (void)arg;
  cw_detach(cw_then(with_retry(&pay), outcome, outcome, NULL));
}

/* Charges at 0 ms and at each later time of at_ms (0-terminated), runs
 * them all, and returns the trace as "label@ms ...". */
static const char *run_charges(cw_harness *h, const uint64_t *at_ms) {
  static char timeline[1024];
  for (; *at_ms; at_ms++)
    cw_set_timeout(pay.loop, *at_ms, charge, NULL);
  assert_int_equal(cw_harness_run(h, charge, NULL), 0);
  size_t n = 0;
  timeline[0] = '\0';
  for (size_t i = 0; i < cw_trace_count(h); i++) {
    const cw_trace_entry *e = cw_trace_get(h, i);
    n += (size_t)snprintf(timeline + n, sizeof timeline - n, "%s%s@%llu", i ? " " : "", e->label,
                          (unsigned long long)e->time_ms);
  }
  return timeline;
}

static const uint64_t once[] = {0};
#define FOREVER UINT64_MAX

static void succeeds_first_try(void **state) {
  cw_harness *h = cw_test_harness(state);
  assert_string_equal(run_charges(h, once), "call@0 paid@0");
}

static void succeeds_after_two_failures(void **state) {
  cw_harness *h = cw_test_harness(state);
  service_down(h, 0, 250);
  assert_string_equal(run_charges(h, once), "call@0 call@100 call@300 paid@300");
  assert_int_equal(cw_breaker_get_state(pay.breaker), CW_BREAKER_CLOSED);
}

static void gives_up_after_three_attempts(void **state) {
  cw_harness *h = cw_test_harness(state);
  service_down(h, 0, FOREVER);
  assert_string_equal(run_charges(h, once), "call@0 call@100 call@300 UV_ECONNRESET@300");
  assert_int_equal(cw_breaker_get_state(pay.breaker), CW_BREAKER_CLOSED); /* 3 failures of 4 */
}

/* The second charge's first call is the 4th failure: the breaker opens at
 * 1000, its retry and the charge at 1500 fail fast without a call. */
static void opens_after_four_failures_and_fails_fast(void **state) {
  cw_harness *h = cw_test_harness(state);
  service_down(h, 0, FOREVER);
  static const uint64_t later[] = {1000, 1500, 0};
  assert_string_equal(run_charges(h, later), "call@0 call@100 call@300 UV_ECONNRESET@300 "
                                             "call@1000 CW_EOPEN@1100 CW_EOPEN@1500");
  assert_int_equal(cw_breaker_get_state(pay.breaker), CW_BREAKER_OPEN);
}

/* Open at 1000; at 2000 a trial call goes through, and its success closes the breaker. */
static void half_open_trial_closes_on_success(void **state) {
  cw_harness *h = cw_test_harness(state);
  service_down(h, 0, 1800);
  static const uint64_t later[] = {1000, 2000, 0};
  assert_string_equal(run_charges(h, later), "call@0 call@100 call@300 UV_ECONNRESET@300 "
                                             "call@1000 CW_EOPEN@1100 call@2000 paid@2000");
  assert_int_equal(cw_breaker_get_state(pay.breaker), CW_BREAKER_CLOSED);
}

/* The trial call at 2000 fails: open again until 3000, so 2900 fails fast. */
static void half_open_trial_reopens_on_failure(void **state) {
  cw_harness *h = cw_test_harness(state);
  service_down(h, 0, FOREVER);
  static const uint64_t later[] = {1000, 2000, 2900, 0};
  assert_string_equal(run_charges(h, later), "call@0 call@100 call@300 UV_ECONNRESET@300 "
                                             "call@1000 CW_EOPEN@1100 call@2000 CW_EOPEN@2100 CW_EOPEN@2900");
  assert_int_equal(cw_breaker_get_state(pay.breaker), CW_BREAKER_OPEN);
}

/* Full jitter: the waits, uniform in [0, 100] then [0, 200] ms, come from the
 * seeded generator: with seed 1 they are 29 and 95 ms, on every run. */
static void jitter_is_seeded(void **state) {
  cw_harness *h = cw_test_harness(state);
  pay.retry.jitter = 1;
  service_down(h, 0, FOREVER);
  assert_string_equal(run_charges(h, once), "call@0 call@29 call@124 UV_ECONNRESET@124");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      payments_test(succeeds_first_try),
      payments_test(succeeds_after_two_failures),
      payments_test(gives_up_after_three_attempts),
      payments_test(opens_after_four_failures_and_fails_fast),
      payments_test(half_open_trial_closes_on_success),
      payments_test(half_open_trial_reopens_on_failure),
      payments_test(jitter_is_seeded),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
