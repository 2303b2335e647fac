/* The core of the fakes: the harness installs them, operations complete
 * in the poll phase at their deadline, one macrotask each, in issue order;
 * what a completion starts waits for the next turn; the fakes' own timer
 * is neither counted nor reported; opts.real_io keeps the real backend. */
#include <pthread.h>
#include <stdatomic.h>

#include <clockwork/fakes.h>

#include "harness_fixture.h"

static pthread_t test_thread;
static atomic_int on_pool; /* work run on another thread */

/* Work: recorded when it runs on the test's thread, counted elsewhere. */
static void *work(void *arg) {
  if (pthread_equal(pthread_self(), test_thread))
    rec_fmt("%s", (const char *)arg);
  else
    atomic_fetch_add(&on_pool, 1);
  return arg;
}

static cw_result done(void *arg, cw_result in) {
  (void)arg;
  rec_fmt("done:%s:%s:%llu", (const char *)in.value, cw_phase_name(cw_loop_phase(loop)),
          (unsigned long long)cw_loop_macrotask_count(loop));
  return cw_ok(NULL);
}

static void say(void *arg) { rec_fmt("%s", (const char *)arg); }

static void start_three(void *arg) {
  (void)arg;
  for (const char *const *w = (const char *const[]){"a", "b", "c", NULL}; *w; w++)
    cw_detach(cw_then(cw_work(loop, work, (void *)*w), done, NULL, NULL));
  cw_set_immediate(loop, say, "immediate");
  cw_set_timeout(loop, 0, say, "timeout");
}

/* Work runs on the loop's thread at its deadline (now: no rule gives it
 * latency), in the timers phase; each completion is a poll-phase
 * macrotask of its own, in issue order, before the check phase. The 0 ms
 * timeout is due 1 ms later, as in Node when no time passed. */
static void completions_in_order_in_the_poll_phase(void **state) {
  (void)state;
  assert_int_equal(cw_harness_run(h, start_three, NULL), 0);
  assert_rec("a b c done:a:microtask:2 done:b:microtask:3 done:c:microtask:4 immediate timeout");
  assert_int_equal(cw_clock_now(h), 1);
}

static cw_result again(void *arg, cw_result in) {
  (void)in;
  rec_fmt("first-done");
  cw_detach(cw_then(cw_work(loop, work, arg), done, NULL, NULL));
  cw_set_immediate(loop, say, "immediate");
  return cw_ok(NULL);
}

static void chain(void *arg) {
  (void)arg;
  cw_detach(cw_then(cw_work(loop, work, "first"), again, NULL, "second"));
}

/* An operation started by a completion's callback completes in the next
 * turn's poll phase: the immediate set beside it runs first. */
static void started_in_a_completion_waits_a_turn(void **state) {
  (void)state;
  assert_int_equal(cw_harness_run(h, chain, NULL), 0);
  assert_rec("first first-done immediate second done:second:microtask:4");
}

static cw_promise *pending;

/* fn as the test's main script, without running the loop. */
static void run_as_main(cw_fn fn) {
  cw_macrotask_begin(loop, CW_PHASE_MAIN);
  fn(NULL);
  cw_macrotask_end(loop);
}

static void start_one(void *arg) {
  (void)arg;
  pending = cw_work(loop, work, "x");
}

/* The fakes' timer is theirs: not a timer of the test's, not a handle left
 * armed; an operation in flight is not a timer either. */
static void the_fakes_timer_is_not_the_tests(void **state) {
  (void)state;
  run_as_main(start_one);
  assert_int_equal(cw_clock_timer_count(h), 0);
  assert_int_equal(cw_io_in_flight(loop), 1);
  cw_clock_run_all(h);
  assert_rec("x");
  assert_int_equal(cw_io_in_flight(loop), 0);
  cw_release(pending);
}

/* Freed with an operation in flight: it is cancelled, nothing leaks, and
 * the promise still held is the test's floating promise. */
static void loop_free_cancels_what_is_in_flight(void **state) {
  (void)state;
  run_as_main(start_one);
  harness_close();
  assert_rec("");
  assert_int_equal(unchecked_failures(), 0);
}

/* opts.real_io: the real backend, on libuv's threadpool. */
static void real_io_keeps_the_real_backend(void **state) {
  (void)state;
  assert_int_equal(cw_harness_run(h, chain, NULL), 0);
  assert_rec("first-done immediate done:second:microtask:4");
  assert_int_equal(atomic_load(&on_pool), 2);
}

static const cw_harness_opts allow_floating = {.seed = CAPTURE_SEED, .allow = CW_ALLOW_FLOATING};
static const cw_harness_opts real_io = {.seed = CAPTURE_SEED, .real_io = true};

int main(void) {
  test_thread = pthread_self();
  const struct CMUnitTest tests[] = {
    harness_test(completions_in_order_in_the_poll_phase),
    harness_test(started_in_a_completion_waits_a_turn),
    harness_test(the_fakes_timer_is_not_the_tests),
    harness_test_with(loop_free_cancels_what_is_in_flight, &allow_floating),
    harness_test_with(real_io_keeps_the_real_backend, &real_io),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
