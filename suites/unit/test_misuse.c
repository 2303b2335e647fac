/* Misuse of the API is reported with the function, what was wrong and the
 * caller's file and line, the call is ignored, and cw_run says so; promise
 * references never consumed are listed with the site that created them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "capture.h"
#include "fixture.h"
#include "record.h"

static int one = 1, two = 2;

/* "the promise created at <this file>:<line> <rest>" */
static const char *about_promise(int line, const char *rest) {
  static char message[512];
  snprintf(message, sizeof message, "the promise created at %s:%d %s", __FILE__, line, rest);
  return message;
}

/* ---- settling twice ------------------------------------------------------- */

static observer settled_once = {"settled", 0, {0}};
static int created_at, follower_at, twice_at[4];

static void main_settle_twice(void *arg) {
  (void)arg;
  cw_promise *p;
  created_at = LINE_OF(p = cw_promise_new(test_loop));
  cw_detach(cw_then(cw_ref(p), rec_observe, rec_observe, &settled_once));
  cw_promise *again = cw_ref(p), *third = cw_ref(p), *fourth = cw_ref(p);
  cw_resolve(p, &one);
  twice_at[0] = LINE_OF(cw_resolve(again, &two));
  twice_at[1] = LINE_OF(cw_reject(third, UV_EIO));
  twice_at[2] = LINE_OF(cw_resolve_with(fourth, cw_resolved(test_loop, &two)));
  /* a promise following another is resolved too, though still pending */
  cw_promise *follower, *source = cw_promise_new(test_loop);
  follower_at = LINE_OF(follower = cw_promise_new(test_loop));
  cw_promise *follower_again = cw_ref(follower);
  cw_resolve_with(follower, cw_ref(source));
  twice_at[3] = LINE_OF(cw_resolve(follower_again, &two));
  cw_resolve(source, &one);
}

static void settling_twice_is_reported_and_ignored(void **state) {
  (void)state;
  unsigned long before = cw_misuse_count();
  assert_int_equal(cw_run(test_loop, main_settle_twice, NULL), CW_EMISUSE);
  assert_int_equal(cw_misuse_count(), before + 4);
  assert_misuse("cw_resolve", about_promise(created_at, "is already resolved (fulfilled)"), twice_at[0]);
  assert_misuse("cw_reject", about_promise(created_at, "is already resolved (fulfilled)"), twice_at[1]);
  assert_misuse("cw_resolve_with", about_promise(created_at, "is already resolved (fulfilled)"), twice_at[2]);
  assert_misuse("cw_resolve", about_promise(follower_at, "is already resolved (following another promise)"),
                twice_at[3]);
  assert_rec("settled");
  assert_int_equal(settled_once.in.state, CW_FULFILLED);
  assert_ptr_equal(settled_once.in.value, &one);
}

/* ---- resolving a promise with itself ------------------------------------- */

/* JavaScript rejects it with a TypeError (a chaining cycle); clockwork also
 * reports it, and rejects with CW_ECYCLE. */
static observer cycle = {"cycle", 0, {0}};
static int cycle_created_at, cycle_at;

static void main_resolve_with_itself(void *arg) {
  (void)arg;
  cw_promise *p;
  cycle_created_at = LINE_OF(p = cw_promise_new(test_loop));
  cw_detach(cw_catch(cw_ref(p), rec_observe, &cycle));
  cycle_at = LINE_OF(cw_resolve_with(cw_ref(p), p));
}

static void resolving_with_itself_rejects_with_cycle(void **state) {
  (void)state;
  assert_int_equal(cw_run(test_loop, main_resolve_with_itself, NULL), CW_EMISUSE);
  assert_misuse("cw_resolve_with", about_promise(cycle_created_at, "was resolved with itself"), cycle_at);
  assert_rec("cycle");
  assert_int_equal(cycle.in.state, CW_REJECTED);
  assert_int_equal(cycle.in.error, CW_ECYCLE);
}

/* ---- released and stale handles ------------------------------------------ */

static const char stale_message[] =
    "stale promise handle: the promise was freed after all its references were consumed";
static observer reused = {"reused", 0, {0}};
static int released_created_at, released_at[3], stale_at[3];
static cw_state reused_state;
static bool reused_handle_differs;

static void main_released_and_stale(void *arg) {
  (void)arg;
  /* released, but alive: the core keeps a follower until its source settles */
  cw_promise *source = cw_promise_new(test_loop), *follower;
  released_created_at = LINE_OF(follower = cw_promise_new(test_loop));
  cw_resolve_with(follower, cw_ref(source));
  released_at[0] = LINE_OF(cw_then(follower, rec_pass, NULL, "never"));
  released_at[1] = LINE_OF(cw_release(follower));
  released_at[2] = LINE_OF(cw_ref(follower));
  cw_resolve(source, &one);

  /* freed; the next promise takes its slot (the pool reuses the last freed
   * first) but not its handle */
  cw_promise *gone = cw_resolved(test_loop, &one);
  cw_release(gone);
  cw_promise *next = cw_promise_new(test_loop);
  reused_handle_differs = next != gone;
  stale_at[0] = LINE_OF(cw_resolve(gone, &two));
  stale_at[1] = LINE_OF(cw_promise_state(gone));
  stale_at[2] = LINE_OF(cw_detach(gone));
  reused_state = cw_promise_state(next);
  cw_detach(cw_then(cw_ref(next), rec_observe, NULL, &reused));
  cw_resolve(next, &one);
}

static void released_and_stale_handles_are_reported(void **state) {
  (void)state;
  assert_int_equal(cw_run(test_loop, main_released_and_stale, NULL), CW_EMISUSE);
  const char *released =
      about_promise(released_created_at, "was already released: its references were all consumed");
  assert_misuse("cw_then", released, released_at[0]);
  assert_misuse("cw_release", released, released_at[1]);
  assert_misuse("cw_ref", released, released_at[2]);
  assert_misuse("cw_resolve", stale_message, stale_at[0]);
  assert_misuse("cw_promise_state", stale_message, stale_at[1]);
  assert_misuse("cw_detach", stale_message, stale_at[2]);
  /* the promise now in the slot was not touched */
  assert_true(reused_handle_differs);
  assert_int_equal(reused_state, CW_PENDING);
  assert_rec("reused");
  assert_ptr_equal(reused.in.value, &one);
}

/* ---- NULL where something is required ------------------------------------- */

static void null_arguments_are_reported(void **state) {
  (void)state;
  cw_promise *p = NULL;
  cw_timer *t = NULL;
  int at;
  at = LINE_OF(p = cw_promise_new(NULL));
  assert_null(p);
  assert_misuse("cw_promise_new", "the loop is NULL", at);
  at = LINE_OF(p = cw_resolved(NULL, &one));
  assert_null(p);
  assert_misuse("cw_resolved", "the loop is NULL", at);
  at = LINE_OF(p = cw_then(NULL, rec_pass, NULL, "never"));
  assert_null(p);
  assert_misuse("cw_then", "the promise is NULL", at);
  at = LINE_OF(cw_resolve(NULL, &one));
  assert_misuse("cw_resolve", "the promise is NULL", at);
  at = LINE_OF(cw_reject(NULL, UV_EIO));
  assert_misuse("cw_reject", "the promise is NULL", at);
  at = LINE_OF(cw_release(NULL));
  assert_misuse("cw_release", "the promise is NULL", at);
  at = LINE_OF(cw_next_tick(test_loop, NULL, NULL));
  assert_misuse("cw_next_tick", "the function is NULL", at);
  at = LINE_OF(cw_queue_microtask(NULL, rec_fn, "never"));
  assert_misuse("cw_queue_microtask", "the loop is NULL", at);
  at = LINE_OF(t = cw_set_timeout(test_loop, 1, NULL, NULL));
  assert_null(t);
  assert_misuse("cw_set_timeout", "the function is NULL", at);
  at = LINE_OF(t = cw_set_immediate(NULL, rec_fn, "never"));
  assert_null(t);
  assert_misuse("cw_set_immediate", "the loop is NULL", at);
  cw_promise *none[1];
  at = LINE_OF(p = cw_race(NULL, none, 0));
  assert_null(p);
  assert_misuse("cw_race", "the loop is NULL", at);
  /* nothing was queued or armed by the calls ignored */
  assert_int_equal(cw_run(test_loop, NULL, NULL), 0);
  assert_rec("");
  int rc;
  at = LINE_OF(rc = cw_run(NULL, rec_fn, "never"));
  assert_misuse("cw_run", "the loop is NULL", at);
  /* the header lists what cw_run returns: 0, CW_EUNHANDLED or CW_EMISUSE */
  assert_int_equal(rc, CW_EMISUSE);
}

/* ---- promises only clockwork settles, and errors that are not errors ---- */

static observer zero_error = {"zero", 0, {0}};
static int derived_created_at, derived_at, zero_at;

static void main_settle_what_is_not_yours(void *arg) {
  (void)arg;
  cw_promise *derived;
  derived_created_at = LINE_OF(derived = cw_then(cw_promise_new(test_loop), NULL, NULL, NULL));
  derived_at = LINE_OF(cw_resolve(derived, &one));
  cw_promise *p = cw_promise_new(test_loop);
  cw_detach(cw_catch(cw_ref(p), rec_observe, &zero_error));
  zero_at = LINE_OF(cw_reject(p, 0));
}

static void settling_a_derived_promise_or_rejecting_with_zero(void **state) {
  (void)state;
  assert_int_equal(cw_run(test_loop, main_settle_what_is_not_yours, NULL), CW_EMISUSE);
  assert_misuse("cw_resolve",
                about_promise(derived_created_at, "is settled by clockwork (it comes from cw_then, cw_finally or "
                                                  "a combinator)"),
                derived_at);
  assert_misuse("cw_reject", "error 0: a rejection is a negative libuv or clockwork code", zero_at);
  assert_rec("zero");
  assert_int_equal(zero_error.in.error, CW_EMISUSE);
}

/* ---- cw_run inside a callback --------------------------------------------- */

static int nested_rc, nested_at;

static void main_nested_run(void *arg) {
  (void)arg;
  rec("outer");
  nested_at = LINE_OF(nested_rc = cw_run(test_loop, rec_fn, "inner"));
}

static void run_inside_a_callback_is_refused(void **state) {
  (void)state;
  assert_int_equal(cw_run(test_loop, main_nested_run, NULL), CW_EMISUSE);
  assert_int_equal(nested_rc, CW_EMISUSE);
  assert_misuse("cw_run", "cw_run called from inside a callback of the same loop", nested_at);
  assert_rec("outer");
}

/* ---- what cw_run returns -------------------------------------------------- */

/* Releases a promise twice; returns the line of the second, stale, release. */
static int release_twice(void) {
  cw_promise *p = cw_resolved(test_loop, NULL);
  cw_release(p);
  return LINE_OF(cw_release(p));
}

static int run_misuse_at;

static void main_one_misuse(void *arg) {
  (void)arg;
  run_misuse_at = release_twice();
}

/* CW_EMISUSE only for misuse during that run. */
static void run_returns_misuse_for_its_own_run_only(void **state) {
  (void)state;
  int at = release_twice();
  assert_int_equal(cw_run(test_loop, rec_fn, "clean"), 0);
  assert_misuse("cw_release", stale_message, at);
  assert_int_equal(cw_run(test_loop, main_one_misuse, NULL), CW_EMISUSE);
  assert_misuse("cw_release", stale_message, run_misuse_at);
  assert_int_equal(cw_run(test_loop, rec_fn, "clean-again"), 0);
  assert_rec("clean clean-again");
}

/* A NULL handle names no loop, but it is misuse during the run all the same. */
static int null_misuse_at;

static void main_null_misuse(void *arg) {
  (void)arg;
  null_misuse_at = LINE_OF(cw_resolve(NULL, &one));
}

static void null_handle_during_a_run_is_misuse_of_the_run(void **state) {
  (void)state;
  int rc = cw_run(test_loop, main_null_misuse, NULL);
  assert_misuse("cw_resolve", "the promise is NULL", null_misuse_at);
  assert_int_equal(rc, CW_EMISUSE);
}

/* ---- the default report --------------------------------------------------- */

static void default_report_goes_to_stderr(void **state) {
  (void)state;
  unsigned long before = cw_misuse_count();
  cw_on_misuse(NULL, NULL);
  stderr_capture_begin();
  int at = LINE_OF(cw_resolve(NULL, &one));
  const char *text = stderr_capture_end();
  cw_on_misuse(misuse_capture, NULL);
  char expected[512];
  snprintf(expected, sizeof expected, "clockwork: misuse of cw_resolve at %s:%d: the promise is NULL\n", __FILE__,
           at);
  assert_string_equal(text, expected);
  assert_int_equal(cw_misuse_count(), before + 1);
}

/* ---- floating promises ---------------------------------------------------- */

typedef struct floating_entry {
  int line;
  cw_state state;
  unsigned refs;
} floating_entry;

static floating_entry floating[8];
static size_t floating_len;

static void collect_floating(void *arg, const char *file, int line, cw_state state, unsigned refs) {
  (void)arg;
  assert_string_equal(file, __FILE__);
  if (floating_len < sizeof floating / sizeof floating[0])
    floating[floating_len++] = (floating_entry){line, state, refs};
}

static int by_line(const void *a, const void *b) {
  return ((const floating_entry *)a)->line - ((const floating_entry *)b)->line;
}

static void assert_floating(size_t i, int line, cw_state state, unsigned refs) {
  assert_int_equal(floating[i].line, line);
  assert_int_equal(floating[i].state, state);
  assert_int_equal(floating[i].refs, refs);
}

static void floating_references_are_listed_with_their_site(void **state) {
  (void)state;
  cw_promise *pending, *settled, *settled_ref, *derived;
  int pending_at = LINE_OF(pending = cw_promise_new(test_loop));
  int settled_at = LINE_OF(settled = cw_resolved(test_loop, &one));
  settled_ref = cw_ref(settled);
  int derived_at = LINE_OF(derived = cw_then(cw_ref(settled), rec_pass, NULL, "then"));
  floating_len = 0;
  assert_int_equal(cw_loop_floating(test_loop, collect_floating, NULL), 3);
  assert_int_equal(floating_len, 3);
  qsort(floating, floating_len, sizeof floating[0], by_line);
  assert_floating(0, pending_at, CW_PENDING, 1);
  assert_floating(1, settled_at, CW_FULFILLED, 2);
  assert_floating(2, derived_at, CW_PENDING, 1);
  cw_release(pending);
  cw_release(settled);
  cw_release(settled_ref);
  cw_detach(derived);
  assert_int_equal(cw_loop_floating(test_loop, NULL, NULL), 0);
  assert_int_equal(cw_run(test_loop, NULL, NULL), 0);
  assert_rec("then");
}

static void loop_free_reports_floating_promises(void **state) {
  (void)state;
  cw_loop *loop = cw_loop_new();
  assert_non_null(loop);
  int at = LINE_OF(cw_promise_new(loop));
  cw_loop_free(loop);
  assert_misuse("cw_loop_free", "floating promise created here (pending, 1 reference never consumed)", at);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      loop_test(settling_twice_is_reported_and_ignored),
      loop_test(resolving_with_itself_rejects_with_cycle),
      loop_test(released_and_stale_handles_are_reported),
      loop_test(null_arguments_are_reported),
      loop_test(settling_a_derived_promise_or_rejecting_with_zero),
      loop_test(run_inside_a_callback_is_refused),
      loop_test(run_returns_misuse_for_its_own_run_only),
      loop_test(null_handle_during_a_run_is_misuse_of_the_run),
      loop_test(default_report_goes_to_stderr),
      loop_test(floating_references_are_listed_with_their_site),
      loop_test(loop_free_reports_floating_promises),
  };
  return cmocka_run_group_tests_name("misuse", tests, NULL, NULL);
}
