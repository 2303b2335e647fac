/* cw_all, cw_all_settled, cw_race and cw_any: when they settle relative to
 * plain jobs, and with what. Orderings are the ones Node 20 prints for the
 * JavaScript quoted beside them (log = console.log). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "fixture.h"
#include "record.h"

static int one = 1, two = 2, three = 3, four = 4;

static void assert_result(cw_result r, cw_state state, void *value, int error) {
  assert_int_equal(r.state, state);
  assert_ptr_equal(r.value, value);
  assert_int_equal(r.error, error);
}

/* ---- settled inputs ----------------------------------------------------- */

/*   const a = Promise.resolve(1), b = Promise.resolve(2)
 *   Promise.all([a, b]).then(() => log('all'))
 *   Promise.race([a, b]).then(() => log('race'))
 *   Promise.allSettled([a, Promise.reject(3)]).then(() => log('allSettled'))
 *   Promise.any([Promise.reject(4), b]).then(() => log('any'))
 *   Promise.resolve().then(() => log('j1')).then(...) up to j4
 * prints: j1 all race allSettled any j2 j3 j4 */
static void *all_values[2];
static cw_result settled_results[2];
static observer got_all = {"all", 0, {0}}, got_race = {"race", 0, {0}};
static observer got_all_settled = {"allSettled", 0, {0}}, got_any = {"any", 0, {0}};

static void main_settled_inputs(void *arg) {
  (void)arg;
  cw_promise *a = cw_resolved(test_loop, &one), *b = cw_resolved(test_loop, &two);
  cw_promise *all_in[] = {cw_ref(a), cw_ref(b)};
  cw_detach(cw_then(cw_all(test_loop, all_in, 2, all_values), rec_observe, NULL, &got_all));
  cw_promise *race_in[] = {cw_ref(a), cw_ref(b)};
  cw_detach(cw_then(cw_race(test_loop, race_in, 2), rec_observe, NULL, &got_race));
  cw_promise *settled_in[] = {a, cw_rejected(test_loop, UV_EIO)};
  cw_detach(cw_then(cw_all_settled(test_loop, settled_in, 2, settled_results), rec_observe, NULL,
                    &got_all_settled));
  cw_promise *any_in[] = {cw_rejected(test_loop, UV_ENOENT), b};
  cw_detach(cw_then(cw_any(test_loop, any_in, 2), rec_observe, NULL, &got_any));
  rec_chain(test_loop, "j", 4);
}

static void settled_inputs_settle_one_job_in(void **state) {
  (void)state;
  assert_int_equal(cw_run(test_loop, main_settled_inputs, NULL), 0);
  assert_rec("j1 all race allSettled any j2 j3 j4");
  assert_ptr_equal(got_all.in.value, all_values);
  assert_ptr_equal(all_values[0], &one);
  assert_ptr_equal(all_values[1], &two);
  assert_ptr_equal(got_race.in.value, &one);
  assert_ptr_equal(got_all_settled.in.value, settled_results);
  assert_result(settled_results[0], CW_FULFILLED, &one, 0);
  assert_result(settled_results[1], CW_REJECTED, NULL, UV_EIO);
  assert_ptr_equal(got_any.in.value, &two);
}

/* ---- no inputs ------------------------------------------------------------ */

/*   Promise.all([]).then(v => log('all'))
 *   Promise.allSettled([]).then(v => log('allSettled'))
 *   Promise.any([]).catch(e => log('any'))
 *   Promise.race([]).then(() => log('race never'), () => log('race never'))
 *   Promise.resolve().then(() => log('j1')).then(() => log('j2'))
 * prints: all allSettled any j1 j2 (all, allSettled and any settle at once) */
static void *no_values[1];
static cw_result no_results[1];
static observer empty_all = {"all", 0, {0}}, empty_all_settled = {"allSettled", 0, {0}};
static observer empty_any = {"any", 0, {0}};
static cw_promise *empty_race;

static void main_no_inputs(void *arg) {
  (void)arg;
  cw_promise *none[1];
  cw_detach(cw_then(cw_all(test_loop, none, 0, no_values), rec_observe, NULL, &empty_all));
  cw_detach(cw_then(cw_all_settled(test_loop, none, 0, no_results), rec_observe, NULL, &empty_all_settled));
  cw_detach(cw_catch(cw_any(test_loop, none, 0), rec_observe, &empty_any));
  empty_race = cw_race(test_loop, none, 0);
  cw_detach(cw_then(cw_ref(empty_race), rec_pass, rec_pass, "race-never"));
  rec_chain(test_loop, "j", 2);
}

static void no_inputs(void **state) {
  (void)state;
  assert_int_equal(cw_run(test_loop, main_no_inputs, NULL), 0);
  assert_rec("all allSettled any j1 j2");
  assert_result(empty_all.in, CW_FULFILLED, no_values, 0);
  assert_result(empty_all_settled.in, CW_FULFILLED, no_results, 0);
  assert_result(empty_any.in, CW_REJECTED, NULL, CW_EAGGREGATE);
  assert_int_equal(cw_promise_state(empty_race), CW_PENDING);
  cw_release(empty_race);
}

/* ---- inputs settled later, out of order ----------------------------------- */

/*   let ra, rb, rc, rd
 *   const a = new Promise((_, r) => { ra = r }), b = new Promise((_, r) => { rb = r })
 *   const c = new Promise(r => { rc = r }), d = new Promise(r => { rd = r })
 *   Promise.all([a, b, c]).catch(e => log('all'))                    // e: eb
 *   Promise.allSettled([a, b, c]).then(rs => log('allSettled'))      // ea, eb, vc
 *   Promise.race([a, b, c]).catch(e => log('race'))                  // e: eb
 *   Promise.any([a, b]).catch(e => log('any'))                       // AggregateError
 *   Promise.any([a, b, c]).then(v => log('any-c'))                   // vc
 *   Promise.all([c, d]).then(v => log('all-cd'))                     // [vc, vd]
 *   rb('eb'); ra('ea'); rd('vd'); rc('vc')
 *   Promise.resolve().then(() => log('j1')).then(() => log('j2')).then(() => log('j3'))
 * prints: j1 all race any allSettled any-c all-cd j2 j3 */
static cw_result later_results[3];
static void *cd_values[2];
static observer later_all = {"all", 0, {0}}, later_all_settled = {"allSettled", 0, {0}};
static observer later_race = {"race", 0, {0}}, later_any = {"any", 0, {0}};
static observer later_any_c = {"any-c", 0, {0}}, later_all_cd = {"all-cd", 0, {0}};

static void main_settled_later(void *arg) {
  (void)arg;
  cw_promise *a = cw_promise_new(test_loop), *b = cw_promise_new(test_loop);
  cw_promise *c = cw_promise_new(test_loop), *d = cw_promise_new(test_loop);
  cw_promise *all_in[] = {cw_ref(a), cw_ref(b), cw_ref(c)};
  cw_detach(cw_catch(cw_all(test_loop, all_in, 3, NULL), rec_observe, &later_all));
  cw_promise *settled_in[] = {cw_ref(a), cw_ref(b), cw_ref(c)};
  cw_detach(cw_then(cw_all_settled(test_loop, settled_in, 3, later_results), rec_observe, NULL,
                    &later_all_settled));
  cw_promise *race_in[] = {cw_ref(a), cw_ref(b), cw_ref(c)};
  cw_detach(cw_catch(cw_race(test_loop, race_in, 3), rec_observe, &later_race));
  cw_promise *any_in[] = {cw_ref(a), cw_ref(b)};
  cw_detach(cw_catch(cw_any(test_loop, any_in, 2), rec_observe, &later_any));
  cw_promise *any_c_in[] = {cw_ref(a), cw_ref(b), cw_ref(c)};
  cw_detach(cw_then(cw_any(test_loop, any_c_in, 3), rec_observe, NULL, &later_any_c));
  cw_promise *cd_in[] = {cw_ref(c), cw_ref(d)};
  cw_detach(cw_then(cw_all(test_loop, cd_in, 2, cd_values), rec_observe, NULL, &later_all_cd));
  cw_reject(b, UV_EPIPE);
  cw_reject(a, UV_ECONNRESET);
  cw_resolve(d, &four);
  cw_resolve(c, &three);
  rec_chain(test_loop, "j", 3);
}

static void inputs_settled_later(void **state) {
  (void)state;
  assert_int_equal(cw_run(test_loop, main_settled_later, NULL), 0);
  assert_rec("j1 all race any allSettled any-c all-cd j2 j3");
  /* the first rejection in time wins, not the first in the array */
  assert_result(later_all.in, CW_REJECTED, NULL, UV_EPIPE);
  assert_result(later_race.in, CW_REJECTED, NULL, UV_EPIPE);
  assert_result(later_any.in, CW_REJECTED, NULL, CW_EAGGREGATE);
  assert_result(later_any_c.in, CW_FULFILLED, &three, 0);
  assert_ptr_equal(later_all_settled.in.value, later_results);
  assert_result(later_results[0], CW_REJECTED, NULL, UV_ECONNRESET);
  assert_result(later_results[1], CW_REJECTED, NULL, UV_EPIPE);
  assert_result(later_results[2], CW_FULFILLED, &three, 0);
  /* values_out is in input order, whatever the order of settling */
  assert_ptr_equal(later_all_cd.in.value, cd_values);
  assert_ptr_equal(cd_values[0], &three);
  assert_ptr_equal(cd_values[1], &four);
}

/* ---- race over mixed inputs --------------------------------------------- */

/*   let rp; const p = new Promise(r => { rp = r })
 *   Promise.race([p, Promise.reject('e'), Promise.resolve('v')]).catch(e => log('race1'))   // e
 *   Promise.race([Promise.resolve('v'), Promise.reject('e')]).then(v => log('race2'))       // v
 *   let s1, s2; const p1 = new Promise(r => { s1 = r }), p2 = new Promise(r => { s2 = r })
 *   Promise.race([p1, p2]).then(v => log('race3'))                                          // second
 *   setTimeout(() => { s2('second'); s1('first') }, 0)
 *   setTimeout(() => rp('late'), 0)
 * prints: race1 race2 race3 */
static observer race1 = {"race1", 0, {0}}, race2 = {"race2", 0, {0}}, race3 = {"race3", 0, {0}};
static cw_promise *race_pending, *race_p1, *race_p2;

static void settle_second_first(void *arg) {
  (void)arg;
  cw_resolve(race_p2, &two);
  cw_resolve(race_p1, &one);
}

static void settle_late(void *arg) { cw_resolve(race_pending, arg); }

static void main_race_mixed(void *arg) {
  (void)arg;
  race_pending = cw_promise_new(test_loop);
  cw_promise *mixed[] = {cw_ref(race_pending), cw_rejected(test_loop, UV_EIO), cw_resolved(test_loop, &one)};
  cw_detach(cw_catch(cw_race(test_loop, mixed, 3), rec_observe, &race1));
  cw_promise *settled[] = {cw_resolved(test_loop, &two), cw_rejected(test_loop, UV_EIO)};
  cw_detach(cw_then(cw_race(test_loop, settled, 2), rec_observe, NULL, &race2));
  race_p1 = cw_promise_new(test_loop);
  race_p2 = cw_promise_new(test_loop);
  cw_promise *later[] = {cw_ref(race_p1), cw_ref(race_p2)};
  cw_detach(cw_then(cw_race(test_loop, later, 2), rec_observe, NULL, &race3));
  cw_set_timeout(test_loop, 0, settle_second_first, NULL);
  cw_set_timeout(test_loop, 0, settle_late, &three);
}

static void race_settles_like_the_first_to_settle(void **state) {
  (void)state;
  assert_int_equal(cw_run(test_loop, main_race_mixed, NULL), 0);
  assert_rec("race1 race2 race3");
  assert_result(race1.in, CW_REJECTED, NULL, UV_EIO);
  assert_result(race2.in, CW_FULFILLED, &two, 0);
  assert_result(race3.in, CW_FULFILLED, &two, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      loop_test(settled_inputs_settle_one_job_in),
      loop_test(no_inputs),
      loop_test(inputs_settled_later),
      loop_test(race_settles_like_the_first_to_settle),
  };
  return cmocka_run_group_tests_name("combinators", tests, NULL, NULL);
}
