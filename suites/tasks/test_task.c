/* Tasks (cw_spawn/cw_await), the C form of JavaScript async functions. Each
 * sequence is the one Node 20 (v20.20.2) prints for the JavaScript quoted beside it,
 * where log(s) appends s and chain('j', n) is
 * Promise.resolve().then(() => log('j1')).then(() => log('j2'))... up to jn. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "child.h"

#include "capture.h"
#include "fixture.h"
#include "record.h"

static int one = 1, two = 2, three = 3;

#define NUMBER(n) ((void *)(intptr_t)(n))
#define INT_OF(value) ((int)(intptr_t)(value))

/* Sets var to the line of call before making it: the site of an await that
 * suspends is known before the await returns. */
#define AT_LINE(var, call) ((var) = __LINE__, (call))

/* A failed cmocka assertion longjmps off the stack it runs on: from a task it
 * would strand the task and leave cw_run mid-flight. So tasks only keep what
 * they saw, and tests check it once cw_run has returned. */
static cw_result kept[8];
static size_t kept_len;
static bool always_in_task;

static cw_result keep(cw_result r) {
  if (kept_len < sizeof kept / sizeof kept[0])
    kept[kept_len] = r;
  kept_len++;
  return r;
}

static void check_in_task(void) { always_in_task &= cw_in_task(); }

static void reset_kept(void) {
  kept_len = 0;
  always_in_task = true;
}

static void assert_fulfilled(cw_result r, void *value) {
  assert_int_equal(r.state, CW_FULFILLED);
  assert_ptr_equal(r.value, value);
  assert_null(r.follow);
}

static void assert_rejected(cw_result r, int error) {
  assert_int_equal(r.state, CW_REJECTED);
  assert_int_equal(r.error, error);
  assert_null(r.value);
  assert_null(r.follow);
}

/* What cw_loop_tasks must show of every task alive: spawned and waiting in
 * this file, at these lines. */
typedef struct task_sites {
  int spawned_line, await_line;
  size_t seen;
} task_sites;

static void visit_task(void *sites, const char *spawned_file, int spawned_line, const char *await_file,
                       int await_line) {
  task_sites *want = sites;
  assert_string_equal(spawned_file, __FILE__);
  assert_int_equal(spawned_line, want->spawned_line);
  assert_string_equal(await_file, __FILE__);
  assert_int_equal(await_line, want->await_line);
  want->seen++;
}

/* ---- a task runs at once, up to its first await -------------------------- */

/* async function t() { log('t1'); log('t2'); await 3; log('t3'); return 1 }
 * async function never() { log('n1'); return 2 }
 * log('before'); t(); never(); log('after')
 * Node: before t1 t2 n1 after t3 */
static cw_result until_await(void *arg) {
  (void)arg;
  check_in_task();
  rec("t1");
  rec("t2");
  keep(cw_await(cw_resolved(test_loop, &three)));
  check_in_task();
  rec("t3");
  return cw_ok(&one);
}

static cw_result never_awaits(void *arg) {
  rec("n1");
  return cw_ok(arg);
}

static cw_promise *spawned[2];

static void main_spawn(void *arg) {
  (void)arg;
  rec("before");
  spawned[0] = cw_spawn(test_loop, until_await, NULL);
  spawned[1] = cw_spawn(test_loop, never_awaits, &two);
  rec("after");
  assert_false(cw_in_task());
  /* an async function that never awaits has settled when the call returns */
  assert_int_equal(cw_promise_state(spawned[0]), CW_PENDING);
  assert_fulfilled(cw_promise_result(spawned[1]), &two);
  assert_int_equal(cw_loop_tasks(test_loop, NULL, NULL), 1);
}

static void spawn_runs_up_to_the_first_await(void **state) {
  (void)state;
  reset_kept();
  assert_int_equal(cw_run(test_loop, main_spawn, NULL), 0);
  assert_rec("before t1 t2 n1 after t3");
  assert_true(always_in_task);
  assert_int_equal(kept_len, 1);
  assert_fulfilled(kept[0], &three);
  assert_fulfilled(cw_promise_result(spawned[0]), &one);
  assert_int_equal(cw_loop_tasks(test_loop, NULL, NULL), 0);
  cw_release(spawned[0]);
  cw_release(spawned[1]);
}

/* ---- await resumes in one job -------------------------------------------- */

/* let settle; const later = new Promise(r => { settle = r })
 * async function t() { log('a0'); await Promise.resolve(1); log('a1'); await 2; log('a2'); await later; log('a3') }
 * chain('j', 6); t(); Promise.resolve().then(() => { log('resolve'); settle(3) })
 * Node: a0 j1 a1 resolve j2 a2 j3 a3 j4 j5 j6 */
static cw_result three_awaits(void *later) {
  rec("a0");
  keep(cw_await(cw_resolved(test_loop, &one)));
  rec("a1");
  keep(cw_await(cw_resolved(test_loop, &two)));
  rec("a2");
  keep(cw_await(later));
  rec("a3");
  return cw_ok(NULL);
}

static cw_result settle_later(void *later, cw_result in) {
  (void)in;
  rec("resolve");
  cw_resolve(later, &three);
  return cw_ok(NULL);
}

static void main_one_job(void *arg) {
  (void)arg;
  cw_promise *later = cw_promise_new(test_loop);
  rec_chain(test_loop, "j", 6);
  cw_detach(cw_spawn(test_loop, three_awaits, cw_ref(later)));
  cw_detach(cw_then(cw_resolved(test_loop, NULL), settle_later, NULL, later));
}

static void await_resumes_in_one_job(void **state) {
  (void)state;
  reset_kept();
  assert_int_equal(cw_run(test_loop, main_one_job, NULL), 0);
  assert_rec("a0 j1 a1 resolve j2 a2 j3 a3 j4 j5 j6");
  assert_int_equal(kept_len, 3);
  assert_fulfilled(kept[0], &one);
  assert_fulfilled(kept[1], &two);
  assert_fulfilled(kept[2], &three);
}

/* ---- await of a rejection returns it -------------------------------------- */

/* async function k() { log('k0'); try { await Promise.reject(new Error('e')) } catch (e) { log('caught') } log('k1') }
 * let rej; const later = new Promise((_, r) => { rej = r })
 * async function k2() { try { await later } catch (e) { log('caught later') } }
 * k(); k2(); chain('j', 3); Promise.resolve().then(() => rej(new Error('x')))
 * Node: k0 caught k1 j1 j2 caught later j3 */
static cw_result await_rejected(void *arg) {
  (void)arg;
  rec("k0");
  if (keep(cw_await(cw_rejected(test_loop, UV_ECONNREFUSED))).state == CW_REJECTED)
    rec("caught");
  rec("k1");
  return cw_ok(NULL);
}

static cw_result await_rejected_later(void *later) {
  if (keep(cw_await(later)).state == CW_REJECTED)
    rec("caught later");
  return cw_ok(NULL);
}

static cw_result reject_later(void *later, cw_result in) {
  (void)in;
  cw_reject(later, UV_ETIMEDOUT);
  return cw_ok(NULL);
}

static void main_rejections(void *arg) {
  (void)arg;
  cw_promise *later = cw_promise_new(test_loop);
  cw_detach(cw_spawn(test_loop, await_rejected, NULL));
  cw_detach(cw_spawn(test_loop, await_rejected_later, cw_ref(later)));
  rec_chain(test_loop, "j", 3);
  cw_detach(cw_then(cw_resolved(test_loop, NULL), reject_later, NULL, later));
}

/* Awaiting handles the rejections: none is reported. */
static void await_returns_a_rejection(void **state) {
  (void)state;
  reset_kept();
  assert_int_equal(cw_run(test_loop, main_rejections, NULL), 0);
  assert_rec("k0 caught k1 j1 j2 caught later j3");
  assert_int_equal(kept_len, 2);
  assert_rejected(kept[0], UV_ECONNREFUSED);
  assert_rejected(kept[1], UV_ETIMEDOUT);
}

/* ---- returning a promise costs two jobs ----------------------------------- */

/* const inner = Promise.resolve('x')
 * async function byValue() { return 'x' }
 * async function byPromise() { return inner }
 * byPromise().then(() => log('promise')); byValue().then(() => log('value')); chain('j', 5)
 * Node: value j1 j2 promise j3 j4 j5 */
static char x[] = "x";

static cw_result by_value(void *arg) {
  (void)arg;
  return cw_ok(x);
}

static cw_result by_promise(void *inner) { return cw_follow(inner); }

static observer by_promise_seen = {"promise", 0, {0}}, by_value_seen = {"value", 0, {0}};

static void main_follow(void *arg) {
  (void)arg;
  cw_promise *inner = cw_resolved(test_loop, x);
  cw_detach(cw_then(cw_spawn(test_loop, by_promise, inner), rec_observe, NULL, &by_promise_seen));
  cw_detach(cw_then(cw_spawn(test_loop, by_value, NULL), rec_observe, NULL, &by_value_seen));
  rec_chain(test_loop, "j", 5);
}

static void returning_a_promise_settles_two_jobs_later(void **state) {
  (void)state;
  assert_int_equal(cw_run(test_loop, main_follow, NULL), 0);
  assert_rec("value j1 j2 promise j3 j4 j5");
  assert_fulfilled(by_promise_seen.in, x);
  assert_fulfilled(by_value_seen.in, x);
}

/* ---- tasks awaiting tasks -------------------------------------------------- */

/* async function leaf() { log('leaf1'); await null; log('leaf2'); return 2 }
 * async function mid() { log('mid1'); const v = await leaf(); log('mid2 ' + v); return v + 1 }
 * async function top() { log('top1'); const v = await mid(); log('top2 ' + v) }
 * top(); chain('j', 6)
 * Node: top1 mid1 leaf1 leaf2 j1 mid2 2 j2 top2 3 j3 j4 j5 j6 */
static cw_result leaf(void *arg) {
  (void)arg;
  rec("leaf1");
  cw_await(cw_resolved(test_loop, NULL));
  rec("leaf2");
  return cw_ok(NUMBER(2));
}

static cw_result mid(void *arg) {
  (void)arg;
  rec("mid1");
  int v = INT_OF(cw_await(cw_spawn(test_loop, leaf, NULL)).value);
  rec_fmt("mid2 %d", v);
  return cw_ok(NUMBER(v + 1));
}

static cw_result top(void *arg) {
  (void)arg;
  rec("top1");
  int v = INT_OF(cw_await(cw_spawn(test_loop, mid, NULL)).value);
  rec_fmt("top2 %d", v);
  return cw_ok(NULL);
}

static void main_nested(void *arg) {
  (void)arg;
  cw_detach(cw_spawn(test_loop, top, NULL));
  assert_int_equal(cw_loop_tasks(test_loop, NULL, NULL), 3);
  rec_chain(test_loop, "j", 6);
}

static void nested_tasks(void **state) {
  (void)state;
  assert_int_equal(cw_run(test_loop, main_nested, NULL), 0);
  assert_rec("top1 mid1 leaf1 leaf2 j1 mid2 2 j2 top2 3 j3 j4 j5 j6");
}

/* ---- many tasks suspended at once ----------------------------------------- */

/* let open; const gate = new Promise(r => { open = r }); const order = []
 * async function t(i) { await gate; order.push(i) }
 * for (let i = 0; i < 10000; i++) t(i); setImmediate(() => open(1))
 * Node: order is 0, 1, ... 9999: awaits resume in the order they were made. */
enum { MANY = 10000 };

static cw_promise *gate;
static int resumed[MANY];
static int resumed_count, passed_gate, gate_line, many_spawn_line;

static cw_result wait_for_gate(void *arg) {
  cw_result r = AT_LINE(gate_line, cw_await(cw_ref(gate)));
  passed_gate += r.state == CW_FULFILLED && r.value == &one;
  resumed[resumed_count++] = INT_OF(arg);
  return cw_ok(arg);
}

static void open_gate(void *arg) {
  (void)arg;
  cw_resolve(gate, &one);
}

static void main_many(void *arg) {
  (void)arg;
  gate = cw_promise_new(test_loop);
  for (int i = 0; i < MANY; i++) {
    cw_promise *p;
    many_spawn_line = LINE_OF(p = cw_spawn(test_loop, wait_for_gate, NUMBER(i)));
    cw_detach(p);
  }
  task_sites at_gate = {many_spawn_line, gate_line, 0};
  assert_int_equal(cw_loop_tasks(test_loop, visit_task, &at_gate), MANY);
  assert_int_equal(at_gate.seen, MANY);
  assert_int_equal(resumed_count, 0);
  cw_set_immediate(test_loop, open_gate, NULL);
}

static void ten_thousand_suspended_tasks(void **state) {
  (void)state;
  resumed_count = passed_gate = 0;
  assert_int_equal(cw_run(test_loop, main_many, NULL), 0);
  assert_int_equal(resumed_count, MANY);
  assert_int_equal(passed_gate, MANY);
  for (int i = 0; i < MANY; i++)
    assert_int_equal(resumed[i], i);
  assert_int_equal(cw_loop_tasks(test_loop, NULL, NULL), 0);
}

/* ---- misuse ---------------------------------------------------------------- */

static int outside_at;

static void main_await_outside(void *arg) {
  (void)arg;
  cw_result r;
  outside_at = LINE_OF(r = cw_await(cw_resolved(test_loop, &one)));
  assert_rejected(r, CW_EMISUSE);
}

/* The promise is consumed all the same: nothing floats. */
static void await_outside_a_task_is_misuse(void **state) {
  (void)state;
  assert_int_equal(cw_run(test_loop, main_await_outside, NULL), CW_EMISUSE);
  assert_misuse("cw_await", "not inside a task: only a function started by cw_spawn can await", outside_at);
}

static int twice_created_at, twice_at, released_created_at, released_at, null_at, other_loop_at;

/* A misused await returns CW_EMISUSE at once, without suspending the task. */
static cw_result misused_awaits(void *arg) {
  (void)arg;
  cw_promise *p;
  twice_created_at = LINE_OF(p = cw_resolved(test_loop, &one));
  keep(cw_await(p));
  rec("first");
  twice_at = LINE_OF(keep(cw_await(p)));

  released_created_at = LINE_OF(p = cw_resolved(test_loop, &two));
  cw_detach(cw_then(cw_ref(p), NULL, NULL, NULL)); /* its job keeps p alive */
  cw_release(p);
  released_at = LINE_OF(keep(cw_await(p)));

  null_at = LINE_OF(keep(cw_await(NULL)));

  cw_loop *other = cw_loop_new();
  other_loop_at = LINE_OF(keep(cw_await(cw_resolved(other, &one))));
  cw_loop_free(other);
  rec("misused");

  cw_await(cw_resolved(test_loop, NULL));
  rec("last");
  return cw_ok(NULL);
}

static void main_misused(void *arg) {
  (void)arg;
  cw_detach(cw_spawn(test_loop, misused_awaits, NULL));
  rec_chain(test_loop, "j", 3);
}

/* "the promise created at <this file>:<line> was already released: ..." */
static const char *released_message(int created_at) {
  static char message[512];
  snprintf(message, sizeof message,
           "the promise created at %s:%d was already released: its references were all consumed", __FILE__,
           created_at);
  return message;
}

static void misused_awaits_return_at_once(void **state) {
  (void)state;
  reset_kept();
  assert_int_equal(cw_run(test_loop, main_misused, NULL), CW_EMISUSE);
  assert_rec("first misused j1 last j2 j3");
  assert_int_equal(kept_len, 5);
  assert_fulfilled(kept[0], &one);
  for (size_t i = 1; i < kept_len; i++)
    assert_rejected(kept[i], CW_EMISUSE);
  /* the second await of p: the first one consumed the only reference */
  assert_misuse("cw_await", released_message(twice_created_at), twice_at);
  assert_misuse("cw_await", released_message(released_created_at), released_at);
  assert_misuse("cw_await", "the promise is NULL", null_at);
  assert_misuse("cw_await", "the promise belongs to another loop", other_loop_at);
}

/* ---- freeing a loop with a suspended task ------------------------------------ */

static int stranded_spawn_line, stranded_await_line;

/* Awaits a promise nobody holds, so nobody can settle it. */
static cw_result await_forever(void *arg) {
  (void)arg;
  AT_LINE(stranded_await_line, cw_await(cw_promise_new(test_loop)));
  rec("settled");
  return cw_ok(NULL);
}

static void main_stranded(void *arg) {
  (void)arg;
  cw_promise *p;
  stranded_spawn_line = LINE_OF(p = cw_spawn(test_loop, await_forever, NULL));
  cw_detach(p);
}

static void freeing_a_loop_reports_suspended_tasks(void **state) {
  (void)state;
  char expected[512];
  assert_int_equal(cw_run(test_loop, main_stranded, NULL), 0);
  assert_rec("");
  task_sites stranded = {stranded_spawn_line, stranded_await_line, 0};
  assert_int_equal(cw_loop_tasks(test_loop, visit_task, &stranded), 1);
  assert_int_equal(stranded.seen, 1);
  cw_loop_free(test_loop);
  test_loop = NULL;
  snprintf(expected, sizeof expected, "task spawned here still suspended at %s:%d", __FILE__, stranded_await_line);
  assert_misuse("cw_loop_free", expected, stranded_spawn_line);
}

/* ---- stack size ------------------------------------------------------------- */

enum { BIG_STACK = 1024 * 1024, DEEP_KIB = 600 }; /* deeper than the default 256 KiB allows */

/* Each frame holds a 1 KiB buffer, so depth n needs more than n KiB. */
__attribute__((noinline)) static unsigned recurse(unsigned depth) {
  volatile unsigned char frame[1024];
  for (size_t i = 0; i < sizeof frame; i++) frame[i] = (unsigned char)(depth + i);
  unsigned below = depth > 1 ? recurse(depth - 1) : 0;
  return below + frame[depth % sizeof frame];
}

static unsigned expected_sum(unsigned depth) {
  unsigned sum = 0;
  for (unsigned d = 1; d <= depth; d++) sum += (unsigned char)(d + d % 1024);
  return sum;
}

static int set_in_task;

static cw_result deep_after_await(void *arg) {
  (void)arg;
  set_in_task = cw_loop_set_stack_size(test_loop, 0);
  cw_await(cw_resolved(test_loop, NULL));
  return cw_ok(NUMBER(recurse(DEEP_KIB)));
}

static cw_promise *deep_task;

static void main_deep(void *arg) {
  (void)arg;
  deep_task = cw_spawn(test_loop, deep_after_await, NULL);
  assert_int_equal(cw_loop_set_stack_size(test_loop, 0), UV_EBUSY);
}

static void stack_size_is_fixed_while_tasks_live(void **state) {
  (void)state;
  assert_int_equal(cw_loop_set_stack_size(test_loop, BIG_STACK), 0);
  assert_int_equal(cw_run(test_loop, main_deep, NULL), 0);
  assert_int_equal(set_in_task, UV_EBUSY);
  assert_fulfilled(cw_promise_result(deep_task), NUMBER(expected_sum(DEEP_KIB)));
  cw_release(deep_task);
  assert_int_equal(cw_loop_set_stack_size(test_loop, 0), 0);
}

/* ---- stack overflow, in a child process -------------------------------------- */

/* The fault handler is installed once per process and cmocka replaces
 * SIGSEGV handlers around each test: the overflow happens in this program
 * run again as "test_task --overflow-child", whose stderr is captured. */

cw_result overflowing_task(void *arg) {
  (void)arg;
  return cw_ok(NUMBER(overflow_recurse(0)));
}

static int overflow_child(void) {
  cw_loop *loop = cw_loop_new();
  cw_loop_set_stack_size(loop, 64 * 1024);
  cw_detach(cw_spawn(loop, overflowing_task, NULL));
  cw_loop_free(loop);
  return 0;
}

static void stack_overflow_names_the_task_function(void **state) {
  (void)state;
  char report[4096];
  int status = run_self("--overflow-child", report, sizeof report);
  assert_true(WIFSIGNALED(status));
  assert_int_equal(WTERMSIG(status), SIGABRT);
  if (!strstr(report, "clockwork: stack overflow in task overflowing_task (stack 64 KiB)"))
    fail_msg("the overflow report does not name overflowing_task: %s", report);
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "--overflow-child") == 0) return overflow_child();
  child_self = argv[0];
  const struct CMUnitTest tests[] = {
    loop_test(spawn_runs_up_to_the_first_await),
    loop_test(await_resumes_in_one_job),
    loop_test(await_returns_a_rejection),
    loop_test(returning_a_promise_settles_two_jobs_later),
    loop_test(nested_tasks),
    loop_test(ten_thousand_suspended_tasks),
    loop_test(await_outside_a_task_is_misuse),
    loop_test(misused_awaits_return_at_once),
    loop_test(freeing_a_loop_reports_suspended_tasks),
    loop_test(stack_size_is_fixed_while_tasks_live),
    cmocka_unit_test(stack_overflow_names_the_task_function),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
