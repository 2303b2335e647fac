/* The promise rules: when handlers run, what they pass on, and what adoption
 * and finally cost in jobs. Each ordering is checked against the sequence
 * Node 20 prints for the JavaScript quoted beside it (log = console.log). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fixture.h"
#include "record.h"

static int one = 1, two = 2;

static cw_result fulfil_with(void *value, cw_result in) {
  (void)in;
  return cw_ok(value);
}

static cw_result reject_with(void *error, cw_result in) {
  (void)in;
  return cw_err((int)(intptr_t)error);
}

static cw_result follow_resolved(void *value, cw_result in) {
  (void)in;
  return cw_follow(cw_resolved(test_loop, value));
}

static cw_result follow_rejected(void *error, cw_result in) {
  (void)in;
  return cw_follow(cw_rejected(test_loop, (int)(intptr_t)error));
}

/* ---- handlers run once, in registration order, never synchronously ---- */

/*   const settled = Promise.resolve()
 *   settled.then(() => log('s1')); settled.then(() => log('s2')); settled.then(() => log('s3'))
 *   let settle; const pending = new Promise(r => { settle = r })
 *   pending.then(() => log('p1')); pending.then(() => log('p2')); pending.then(() => log('p3'))
 *   setTimeout(() => { log('timer'); settle() }, 0)
 *   log('main')
 * prints: main s1 s2 s3 timer p1 p2 p3 */
static observer s1 = {"s1", 0, {0}}, s2 = {"s2", 0, {0}}, s3 = {"s3", 0, {0}};
static observer p1 = {"p1", 0, {0}}, p2 = {"p2", 0, {0}}, p3 = {"p3", 0, {0}};
static cw_promise *pending;

static void settle_pending(void *arg) {
  rec("timer");
  cw_resolve(pending, arg);
}

static void attach_three(cw_promise *p, observer *a, observer *b, observer *c) {
  cw_detach(cw_then(cw_ref(p), rec_observe, rec_observe, a));
  cw_detach(cw_then(cw_ref(p), rec_observe, rec_observe, b));
  cw_detach(cw_then(p, rec_observe, rec_observe, c));
}

static void main_registration_order(void *arg) {
  (void)arg;
  attach_three(cw_resolved(test_loop, &one), &s1, &s2, &s3);
  pending = cw_promise_new(test_loop);
  attach_three(cw_ref(pending), &p1, &p2, &p3);
  cw_set_timeout(test_loop, 0, settle_pending, &two);
  rec("main");
}

static void handlers_run_once_in_order_never_synchronously(void **state) {
  (void)state;
  assert_int_equal(cw_run(test_loop, main_registration_order, NULL), 0);
  assert_rec("main s1 s2 s3 timer p1 p2 p3");
  observer *settled[] = {&s1, &s2, &s3}, *later[] = {&p1, &p2, &p3};
  for (int i = 0; i < 3; i++) {
    assert_int_equal(settled[i]->calls, 1);
    assert_ptr_equal(settled[i]->in.value, &one);
    assert_int_equal(later[i]->calls, 1);
    assert_int_equal(later[i]->in.state, CW_FULFILLED);
    assert_ptr_equal(later[i]->in.value, &two);
  }
}

/* ---- a NULL handler passes the result on, one job per link ------------- */

/*   Promise.resolve(1).catch(() => log('never')).then(v => log('ok'))
 *   Promise.reject(2).then(() => log('never')).then(null, e => log('err'))
 *   Promise.resolve().then(() => log('j1')).then(() => log('j2')).then(() => log('j3')).then(() => log('j4'))
 * prints: j1 ok err j2 j3 j4 */
static observer passed_value = {"ok", 0, {0}}, passed_error = {"err", 0, {0}};

static void main_pass_through(void *arg) {
  (void)arg;
  cw_detach(cw_then(cw_catch(cw_resolved(test_loop, &one), rec_pass, "never"), rec_observe, NULL, &passed_value));
  cw_detach(cw_then(cw_then(cw_rejected(test_loop, UV_EIO), rec_pass, NULL, "never"), NULL, rec_observe,
                    &passed_error));
  rec_chain(test_loop, "j", 4);
}

static void null_handler_passes_result_on(void **state) {
  (void)state;
  assert_int_equal(cw_run(test_loop, main_pass_through, NULL), 0);
  assert_rec("j1 ok err j2 j3 j4");
  assert_int_equal(passed_value.in.state, CW_FULFILLED);
  assert_ptr_equal(passed_value.in.value, &one);
  assert_int_equal(passed_error.in.state, CW_REJECTED);
  assert_int_equal(passed_error.in.error, UV_EIO);
}

/* ---- what a handler returns: cw_ok, cw_err, cw_follow ------------------ */

/*   Promise.resolve().then(() => 'a').then(v => log('ok'))
 *   Promise.resolve().then(() => { throw 'e' }).then(null, e => log('err'))
 *   Promise.resolve().then(() => Promise.resolve('f')).then(v => log('follow'))
 *   Promise.resolve().then(() => Promise.reject('r')).then(null, e => log('follow-err'))
 *   Promise.resolve().then(() => log('j1')).then(...)  up to j5
 * prints: j1 ok err j2 j3 follow follow-err j4 j5
 * (following a promise costs two jobs more than returning a value) */
static observer got_ok = {"ok", 0, {0}}, got_err = {"err", 0, {0}};
static observer got_follow = {"follow", 0, {0}}, got_follow_err = {"follow-err", 0, {0}};

static void main_handler_results(void *arg) {
  (void)arg;
  cw_detach(cw_then(cw_then(cw_resolved(test_loop, NULL), fulfil_with, NULL, &one), rec_observe, NULL, &got_ok));
  cw_detach(cw_then(cw_then(cw_resolved(test_loop, NULL), reject_with, NULL, (void *)(intptr_t)UV_EPIPE), NULL,
                    rec_observe, &got_err));
  cw_detach(cw_then(cw_then(cw_resolved(test_loop, NULL), follow_resolved, NULL, &two), rec_observe, NULL,
                    &got_follow));
  cw_detach(cw_then(cw_then(cw_resolved(test_loop, NULL), follow_rejected, NULL, (void *)(intptr_t)UV_ENOENT),
                    NULL, rec_observe, &got_follow_err));
  rec_chain(test_loop, "j", 5);
}

static void handler_results_ok_err_follow(void **state) {
  (void)state;
  assert_int_equal(cw_run(test_loop, main_handler_results, NULL), 0);
  assert_rec("j1 ok err j2 j3 follow follow-err j4 j5");
  assert_ptr_equal(got_ok.in.value, &one);
  assert_int_equal(got_err.in.state, CW_REJECTED);
  assert_int_equal(got_err.in.error, UV_EPIPE);
  assert_int_equal(got_follow.in.state, CW_FULFILLED);
  assert_ptr_equal(got_follow.in.value, &two);
  assert_int_equal(got_follow_err.in.state, CW_REJECTED);
  assert_int_equal(got_follow_err.in.error, UV_ENOENT);
}

/* ---- adoption: cw_resolve_with costs exactly two extra jobs ------------ */

/*   const inner = Promise.resolve('x')
 *   new Promise(r => r(inner)).then(v => log('outer'))
 *   let settle; const pending = new Promise(r => { settle = r })
 *   new Promise(r => r(pending)).then(v => log('outer2'))
 *   Promise.resolve().then(() => log('j1')).then(...) up to j4
 *   setTimeout(() => {
 *     settle('late')
 *     Promise.resolve().then(() => log('k1')).then(() => log('k2')).then(() => log('k3'))
 *   }, 0)
 * prints: j1 j2 outer j3 j4 k1 outer2 k2 k3
 * (a settled source: the thenable job, the then, then the handler; a pending
 * one: its reaction settles the follower, then the handler) */
static observer outer = {"outer", 0, {0}}, outer2 = {"outer2", 0, {0}};

static void settle_and_chain(void *value) {
  cw_resolve(pending, value);
  rec_chain(test_loop, "k", 3);
}

static void main_adoption(void *arg) {
  (void)arg;
  cw_promise *follower = cw_promise_new(test_loop);
  cw_resolve_with(cw_ref(follower), cw_resolved(test_loop, &one));
  cw_detach(cw_then(follower, rec_observe, NULL, &outer));
  pending = cw_promise_new(test_loop);
  cw_promise *follower2 = cw_promise_new(test_loop);
  cw_resolve_with(cw_ref(follower2), cw_ref(pending));
  cw_detach(cw_then(follower2, rec_observe, NULL, &outer2));
  rec_chain(test_loop, "j", 4);
  cw_set_timeout(test_loop, 0, settle_and_chain, &two);
}

static void resolve_with_costs_two_jobs(void **state) {
  (void)state;
  assert_int_equal(cw_run(test_loop, main_adoption, NULL), 0);
  assert_rec("j1 j2 outer j3 j4 k1 outer2 k2 k3");
  assert_ptr_equal(outer.in.value, &one);
  assert_ptr_equal(outer2.in.value, &two);
}

/* ---- finally ------------------------------------------------------------ */

/*   Promise.resolve('v').finally(() => log('f1')).then(v => log('after1'))
 *   Promise.reject('e').finally(() => log('f2')).then(null, e => log('after2'))
 *   Promise.resolve().then(() => log('j1')).then(...) up to j6
 * prints: f1 f2 j1 j2 j3 after1 after2 j4 j5 j6 */
static observer after1 = {"after1", 0, {0}}, after2 = {"after2", 0, {0}};

static void main_finally(void *arg) {
  (void)arg;
  cw_detach(cw_then(cw_finally(cw_resolved(test_loop, &one), rec_fn, "f1"), rec_observe, NULL, &after1));
  cw_detach(cw_then(cw_finally(cw_rejected(test_loop, UV_ECANCELED), rec_fn, "f2"), NULL, rec_observe, &after2));
  rec_chain(test_loop, "j", 6);
}

static void finally_runs_either_way_and_settles_three_jobs_later(void **state) {
  (void)state;
  assert_int_equal(cw_run(test_loop, main_finally, NULL), 0);
  assert_rec("f1 f2 j1 j2 j3 after1 after2 j4 j5 j6");
  assert_int_equal(after1.in.state, CW_FULFILLED);
  assert_ptr_equal(after1.in.value, &one);
  assert_int_equal(after2.in.state, CW_REJECTED);
  assert_int_equal(after2.in.error, UV_ECANCELED);
}

/* ---- long chains: settled by jobs, not by recursion --------------------- */

enum { CHAIN_LENGTH = 100000 };
static long links_run;
static observer chain_end = {"end", 0, {0}};

static cw_result count_link(void *count, cw_result in) {
  ++*(long *)count;
  return in;
}

/* Each link built on a pending promise, settled once the chain is complete. */
static void main_long_fulfilled_chain(void *arg) {
  (void)arg;
  cw_promise *head = cw_promise_new(test_loop);
  cw_promise *p = cw_ref(head);
  for (int i = 0; i < CHAIN_LENGTH; i++)
    p = cw_then(p, count_link, NULL, &links_run);
  cw_detach(cw_then(p, rec_observe, NULL, &chain_end));
  cw_resolve(head, &one);
}

/* A rejection passing through every link (no on_err) to the last. */
static void main_long_rejected_chain(void *arg) {
  (void)arg;
  cw_promise *p = cw_rejected(test_loop, UV_EIO);
  for (int i = 0; i < CHAIN_LENGTH; i++)
    p = cw_then(p, count_link, NULL, &links_run);
  cw_detach(cw_catch(p, rec_observe, &chain_end));
}

/* Each promise follows the next; the last is settled at the end. */
static void main_long_adoption_chain(void *arg) {
  (void)arg;
  cw_promise *first = cw_promise_new(test_loop);
  cw_detach(cw_then(cw_ref(first), rec_observe, NULL, &chain_end));
  cw_promise *p = first;
  for (int i = 0; i < CHAIN_LENGTH; i++) {
    cw_promise *next = cw_promise_new(test_loop);
    cw_resolve_with(p, cw_ref(next));
    p = next;
  }
  cw_resolve(p, &two);
}

static void long_chains(cw_fn main, long links, cw_state state) {
  links_run = 0;
  assert_int_equal(cw_run(test_loop, main, NULL), 0);
  assert_int_equal(links_run, links);
  assert_int_equal(chain_end.calls, 1);
  assert_int_equal(chain_end.in.state, state);
  rec_reset();
  chain_end.calls = 0;
}

static void chains_of_100000_settle(void **state) {
  (void)state;
  long_chains(main_long_fulfilled_chain, CHAIN_LENGTH, CW_FULFILLED);
  assert_ptr_equal(chain_end.in.value, &one);
  long_chains(main_long_rejected_chain, 0, CW_REJECTED);
  assert_int_equal(chain_end.in.error, UV_EIO);
  long_chains(main_long_adoption_chain, 0, CW_FULFILLED);
  assert_ptr_equal(chain_end.in.value, &two);
}

/* ---- values are the caller's -------------------------------------------- */

/* A heap value, a static one and one that is no address at all travel
 * through every kind of reaction; free() on any of them by clockwork would
 * abort (or be reported by AddressSanitizer) and the heap one is checked
 * after the loop is gone. */
static char *heap_value;
static void *all_values[3];
static observer got_all = {"all", 0, {0}};

static void main_values(void *arg) {
  cw_loop *loop = arg;
  void *not_an_address = (void *)(uintptr_t)0x1234;
  cw_promise *ps[] = {
      cw_finally(cw_then(cw_resolved(loop, heap_value), NULL, NULL, NULL), rec_fn, "finally"),
      cw_then(cw_resolved(loop, NULL), fulfil_with, NULL, &one),
      cw_promise_new(loop),
  };
  cw_resolve_with(cw_ref(ps[2]), cw_resolved(loop, not_an_address));
  cw_detach(cw_then(cw_all(loop, ps, 3, all_values), rec_observe, NULL, &got_all));
}

static void values_are_never_freed(void **state) {
  (void)state;
  heap_value = strdup("the caller's");
  assert_non_null(heap_value);
  cw_loop *loop = cw_loop_new();
  assert_non_null(loop);
  assert_int_equal(cw_run(loop, main_values, loop), 0);
  assert_int_equal(cw_loop_floating(loop, NULL, NULL), 0);
  cw_loop_free(loop);
  assert_rec("finally all");
  assert_ptr_equal(got_all.in.value, all_values);
  assert_ptr_equal(all_values[0], heap_value);
  assert_ptr_equal(all_values[1], &one);
  assert_ptr_equal(all_values[2], (void *)(uintptr_t)0x1234);
  assert_string_equal(heap_value, "the caller's");
  free(heap_value);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      loop_test(handlers_run_once_in_order_never_synchronously),
      loop_test(null_handler_passes_result_on),
      loop_test(handler_results_ok_err_follow),
      loop_test(resolve_with_costs_two_jobs),
      loop_test(finally_runs_either_way_and_settles_three_jobs_later),
      loop_test(chains_of_100000_settle),
      loop_test(values_are_never_freed),
  };
  return cmocka_run_group_tests_name("promise", tests, NULL, NULL);
}
