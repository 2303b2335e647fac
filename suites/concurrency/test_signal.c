/* Cancellation: signals, their listeners and lifetime, and cw_abortable. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "fixture.h"
#include "ops.h"
#include "record.h"

static int value = 7;

/* ---- listeners ------------------------------------------------------------- */

static void listeners_run_once_in_order(void **state) {
  (void)state;
  cw_signal *s = cw_signal_new(test_loop);
  assert_false(cw_signal_aborted(s));
  assert_int_equal(cw_signal_reason(s), 0);
  uint64_t a = cw_signal_on(s, rec_fn, "a"), b = cw_signal_on(s, rec_fn, "b");
  assert_true(a && b && a != b);
  cw_signal_on(s, rec_fn, "c");
  cw_signal_off(s, b);
  cw_signal_abort(s, 0);
  assert_rec("a c");
  assert_true(cw_signal_aborted(s));
  assert_int_equal(cw_signal_reason(s), UV_ECANCELED);
  cw_signal_abort(s, UV_EPIPE); /* twice: nothing */
  assert_int_equal(cw_signal_reason(s), UV_ECANCELED);
  assert_rec("a c");
  assert_int_not_equal(cw_signal_on(s, rec_fn, "late"), 0); /* runs at once */
  assert_rec("a c late");
  cw_signal_off(s, a); /* ran already: nothing */
  cw_signal_free(s);
}

/* A listener that frees its signal and removes the next listener. */
typedef struct unsubscriber {
  cw_signal *s;
  uint64_t next;
} unsubscriber;

static void free_and_unsubscribe(void *arg) {
  unsubscriber *u = arg;
  rec_fmt("first reason=%s", cw_err_name(cw_signal_reason(u->s)));
  cw_signal_free(u->s);
  cw_signal_off(u->s, u->next);
}

static void listener_may_free_its_signal(void **state) {
  (void)state;
  cw_signal *s = cw_signal_new(test_loop);
  unsubscriber u = {s, 0};
  cw_signal_on(s, free_and_unsubscribe, &u);
  u.next = cw_signal_on(s, rec_fn, "removed");
  cw_signal_on(s, rec_fn, "third");
  cw_signal_abort(s, UV_EPIPE);
  assert_rec("first reason=UV_EPIPE third");
}

static void reasons_are_negative_codes(void **state) {
  (void)state;
  cw_signal *s = cw_signal_new(test_loop);
  cw_signal_abort(s, UV_EPIPE);
  assert_int_equal(cw_signal_reason(s), UV_EPIPE);
  cw_signal_free(s);
  s = cw_signal_new(test_loop);
  cw_signal_abort(s, 5);
  misuse_report m = misuse_take();
  assert_string_equal(m.function, "cw_signal_abort");
  assert_int_equal(cw_signal_reason(s), CW_EMISUSE);
  cw_signal_free(s);
}

static void null_arguments_are_misuse(void **state) {
  (void)state;
  assert_int_equal(cw_signal_on(NULL, rec_fn, "x"), 0);
  assert_string_equal(misuse_take().function, "cw_signal_on");
  cw_signal *s = cw_signal_new(test_loop);
  assert_int_equal(cw_signal_on(s, NULL, NULL), 0);
  assert_string_equal(misuse_take().function, "cw_signal_on");
  cw_signal_abort(NULL, 0);
  assert_string_equal(misuse_take().function, "cw_signal_abort");
  assert_null(cw_signal_new(NULL));
  assert_string_equal(misuse_take().function, "cw_signal_new");
  assert_false(cw_signal_aborted(NULL));
  cw_signal_free(NULL);
  cw_signal_free(s);
}

/* ---- cw_signal_timeout --------------------------------------------------------- */

static uint64_t started_at, fired_at;
static cw_signal *timed;

static void note_fired(void *arg) {
  (void)arg;
  fired_at = loop_now();
  rec_fmt("fired reason=%s", cw_err_name(cw_signal_reason(timed)));
}

static void nothing(void *arg) { (void)arg; }

/* Its timer does not keep the loop alive (as AbortSignal.timeout): a run
 * with nothing else to wait for ends before it fires; with other work
 * pending, it fires. */
static void timeout_signal_aborts_with_etimedout(void **state) {
  (void)state;
  started_at = loop_now();
  timed = cw_signal_timeout(test_loop, 3);
  cw_signal_on(timed, note_fired, NULL);
  assert_int_equal(cw_run(test_loop, NULL, NULL), 0);
  assert_rec("");
  cw_set_timeout(test_loop, 10, nothing, NULL);
  assert_int_equal(cw_run(test_loop, NULL, NULL), 0);
  assert_rec("fired reason=UV_ETIMEDOUT");
  assert_true(fired_at - started_at >= 3);
  assert_int_equal(cw_loop_timers(test_loop, NULL, NULL), 0);
  cw_signal_free(timed);
}

static void timeout_signal_freed_unused_clears_its_timer(void **state) {
  (void)state;
  cw_signal *s = cw_signal_timeout(test_loop, LONG_MS);
  assert_int_equal(cw_loop_timers(test_loop, NULL, NULL), 1);
  cw_signal_free(s);
  assert_int_equal(cw_loop_timers(test_loop, NULL, NULL), 0);
  uint64_t start = loop_now();
  assert_int_equal(cw_run(test_loop, NULL, NULL), 0);
  assert_true(loop_now() - start < LONG_MS);
}

/* Freed by its owner while a sleep uses it: it lives on, still aborts the
 * sleep when its time comes, and goes when the sleep has settled. */
static observer freed_sleep = {"sleep", 0, {0}};

static void main_freed_while_in_use(void *arg) {
  (void)arg;
  cw_signal *s = cw_signal_timeout(test_loop, 2);
  watch(cw_sleep_signal(test_loop, LONG_MS, s), &freed_sleep);
  cw_signal_free(s);
}

static void signal_freed_while_in_use_lives_until_settled(void **state) {
  (void)state;
  uint64_t start = loop_now();
  assert_int_equal(cw_run(test_loop, main_freed_while_in_use, NULL), 0);
  assert_rec("sleep:UV_ETIMEDOUT");
  assert_true(loop_now() - start < LONG_MS);
  assert_int_equal(cw_loop_timers(test_loop, NULL, NULL), 0);
}

/* The same with a signal that never aborts: the sleep ends normally and
 * removes its listener, which frees the signal (the sanitizer sees a leak
 * otherwise). */
static void main_freed_never_aborted(void *arg) {
  (void)arg;
  cw_signal *s = cw_signal_new(test_loop);
  watch(cw_sleep_signal(test_loop, 1, s), &freed_sleep);
  cw_signal_free(s);
}

static void signal_freed_unaborted_goes_with_last_user(void **state) {
  (void)state;
  assert_int_equal(cw_run(test_loop, main_freed_never_aborted, NULL), 0);
  assert_rec("sleep:ok");
}

/* ---- cw_abortable --------------------------------------------------------------- */

static cw_signal *sig;
static cw_promise *inner;
static observer guarded = {"guarded", 0, {0}};

static void abort_sig(void *arg) {
  rec("abort");
  cw_signal_abort(sig, (int)(intptr_t)arg);
}

static void reject_inner(void *arg) {
  (void)arg;
  rec("inner rejects");
  cw_reject(inner, UV_EIO);
}

static void resolve_inner(void *arg) {
  (void)arg;
  rec("inner fulfils");
  cw_resolve(inner, &value);
}

/* Abort mid-flight wins with its reason; the inner promise's later
 * rejection is absorbed: cw_run reports no unhandled rejection. */
static void main_abort_mid_flight(void *arg) {
  (void)arg;
  sig = cw_signal_new(test_loop);
  inner = cw_promise_new(test_loop);
  watch(cw_abortable(cw_ref(inner), sig), &guarded);
  cw_set_immediate(test_loop, abort_sig, (void *)(intptr_t)UV_EPIPE);
  cw_set_immediate(test_loop, reject_inner, NULL);
}

static void abortable_abort_mid_flight(void **state) {
  (void)state;
  assert_int_equal(cw_run(test_loop, main_abort_mid_flight, NULL), 0);
  assert_rec("abort guarded:UV_EPIPE inner rejects");
  assert_int_equal(guarded.in.error, UV_EPIPE);
  cw_signal_free(sig);
}

/* The promise wins: settles like it, and the signal's listener is gone
 * (aborting afterwards does nothing). */
static void main_promise_wins(void *arg) {
  (void)arg;
  sig = cw_signal_new(test_loop);
  inner = cw_promise_new(test_loop);
  watch(cw_abortable(cw_ref(inner), sig), &guarded);
  cw_set_immediate(test_loop, resolve_inner, NULL);
  cw_set_immediate(test_loop, abort_sig, (void *)(intptr_t)0);
}

static void abortable_promise_wins(void **state) {
  (void)state;
  guarded.calls = 0;
  assert_int_equal(cw_run(test_loop, main_promise_wins, NULL), 0);
  assert_rec("inner fulfils guarded:ok abort");
  assert_int_equal(guarded.calls, 1);
  assert_ptr_equal(guarded.in.value, &value);
  cw_signal_free(sig);
}

static void main_already_aborted(void *arg) {
  (void)arg;
  sig = cw_signal_new(test_loop);
  cw_signal_abort(sig, 0);
  inner = cw_promise_new(test_loop);
  cw_promise *out = cw_abortable(cw_ref(inner), sig);
  assert_int_equal(cw_promise_state(out), CW_REJECTED);
  watch(out, &guarded);
  rec("sync");
  cw_set_immediate(test_loop, reject_inner, NULL);
}

static void abortable_already_aborted_rejects_at_once(void **state) {
  (void)state;
  assert_int_equal(cw_run(test_loop, main_already_aborted, NULL), 0);
  assert_rec("sync guarded:UV_ECANCELED inner rejects");
  cw_signal_free(sig);
}

static void abortable_without_signal_is_the_promise(void **state) {
  (void)state;
  cw_promise *p = cw_resolved(test_loop, &value);
  cw_promise *same = cw_abortable(p, NULL);
  assert_ptr_equal(same, p);
  cw_release(same);
  assert_null(cw_abortable(NULL, NULL));
  assert_string_equal(misuse_take().function, "cw_abortable");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      loop_test(listeners_run_once_in_order),
      loop_test(listener_may_free_its_signal),
      loop_test(reasons_are_negative_codes),
      loop_test(null_arguments_are_misuse),
      loop_test(timeout_signal_aborts_with_etimedout),
      loop_test(timeout_signal_freed_unused_clears_its_timer),
      loop_test(signal_freed_while_in_use_lives_until_settled),
      loop_test(signal_freed_unaborted_goes_with_last_user),
      loop_test(abortable_abort_mid_flight),
      loop_test(abortable_promise_wins),
      loop_test(abortable_already_aborted_rejects_at_once),
      loop_test(abortable_without_signal_is_the_promise),
  };
  return cmocka_run_group_tests_name("signal", tests, NULL, NULL);
}
