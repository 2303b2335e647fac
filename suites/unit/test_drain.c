/* The drain after every macrotask, timers and immediates, and the phase the
 * loop reports. Orderings are the ones Node 20 prints for the JavaScript
 * quoted beside them (log = console.log). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "fixture.h"
#include "record.h"

/* ---- nextTick and microtask queues ------------------------------------- */

/*   queueMicrotask(() => {
 *     log('m1')
 *     process.nextTick(() => {
 *       log('t3')
 *       queueMicrotask(() => { log('m5'); process.nextTick(() => log('t4')) })
 *     })
 *     queueMicrotask(() => log('m4'))
 *   })
 *   Promise.resolve().then(() => log('m2'))
 *   process.nextTick(() => { log('t1'); queueMicrotask(() => log('m3')); process.nextTick(() => log('t2')) })
 *   log('main')
 * prints: main t1 t2 m1 m2 m3 m4 t3 m5 t4 */
static void m5(void *arg) {
  rec(arg);
  cw_next_tick(test_loop, rec_fn, "t4");
}

static void t3(void *arg) {
  rec(arg);
  cw_queue_microtask(test_loop, m5, "m5");
}

static void m1(void *arg) {
  rec(arg);
  cw_next_tick(test_loop, t3, "t3");
  cw_queue_microtask(test_loop, rec_fn, "m4");
}

static void t1(void *arg) {
  rec(arg);
  cw_queue_microtask(test_loop, rec_fn, "m3");
  cw_next_tick(test_loop, rec_fn, "t2");
}

static void main_queues(void *arg) {
  (void)arg;
  cw_queue_microtask(test_loop, m1, "m1");
  cw_detach(cw_then(cw_resolved(test_loop, NULL), rec_pass, NULL, "m2"));
  cw_next_tick(test_loop, t1, "t1");
  rec("main");
}

static void ticks_first_then_microtasks_until_both_empty(void **state) {
  (void)state;
  assert_int_equal(cw_run(test_loop, main_queues, NULL), 0);
  assert_rec("main t1 t2 m1 m2 m3 m4 t3 m5 t4");
}

/* ---- the queues drain between two timers and between two immediates ---- */

/*   setTimeout(() => { log('t1'); queueMicrotask(() => log('t1-micro')); process.nextTick(() => log('t1-tick')) }, 0)
 *   setTimeout(() => log('t2'), 0)
 * prints: t1 t1-tick t1-micro t2
 * and the same with setImmediate: i1 i1-tick i1-micro i2 */
static void queue_both(void *label) {
  rec(label);
  cw_queue_microtask(test_loop, rec_fn, "micro");
  cw_next_tick(test_loop, rec_fn, "tick");
}

static void main_two_timers(void *arg) {
  (void)arg;
  cw_set_timeout(test_loop, 0, queue_both, "t1");
  cw_set_timeout(test_loop, 0, rec_fn, "t2");
}

static void main_two_immediates(void *arg) {
  (void)arg;
  cw_set_immediate(test_loop, queue_both, "i1");
  cw_set_immediate(test_loop, rec_fn, "i2");
}

static void drain_between_timers_and_between_immediates(void **state) {
  (void)state;
  assert_int_equal(cw_run(test_loop, main_two_timers, NULL), 0);
  assert_rec("t1 tick micro t2");
  rec_reset();
  assert_int_equal(cw_run(test_loop, main_two_immediates, NULL), 0);
  assert_rec("i1 tick micro i2");
}

/* ---- timer order ---------------------------------------------------------- */

/*   setTimeout(() => log('a'), 1); setTimeout(() => log('b'), 0); setTimeout(() => log('c'), 1)
 *   setTimeout(() => log('d'), 3); setTimeout(() => log('e'), 3)
 * prints: a b c d e (0 ms is 1 ms; equal deadlines in creation order) */
static void main_equal_deadlines(void *arg) {
  (void)arg;
  cw_set_timeout(test_loop, 1, rec_fn, "a");
  cw_set_timeout(test_loop, 0, rec_fn, "b");
  cw_set_timeout(test_loop, 1, rec_fn, "c");
  cw_set_timeout(test_loop, 3, rec_fn, "d");
  cw_set_timeout(test_loop, 3, rec_fn, "e");
}

static void equal_deadlines_fire_in_creation_order(void **state) {
  (void)state;
  assert_int_equal(cw_run(test_loop, main_equal_deadlines, NULL), 0);
  assert_rec("a b c d e");
}

/* ---- created during its own phase: a later turn ------------------------- */

/*   setTimeout(() => { log('t1'); setTimeout(() => log('t2'), 0); setImmediate(() => log('i1')) }, 0)
 * prints: t1 i1 t2 */
static void timer_creates_both(void *arg) {
  rec(arg);
  cw_set_timeout(test_loop, 0, rec_fn, "t2");
  cw_set_immediate(test_loop, rec_fn, "i1");
}

static void main_timer_in_timer(void *arg) {
  (void)arg;
  cw_set_timeout(test_loop, 0, timer_creates_both, "t1");
}

/* An immediate queued from an immediate's callback waits for the next loop
 * iteration (Node's documentation of setImmediate; JavaScript cannot see the
 * turns, so an unreferenced prepare handle marks each one here):
 *   turn i1 i2 turn i3 */
static uv_prepare_t turn_marker;

static void mark_turn(uv_prepare_t *prepare) {
  (void)prepare;
  rec("turn");
}

static void last_immediate(void *arg) {
  rec(arg);
  uv_close((uv_handle_t *)&turn_marker, NULL);
}

static void immediate_creates_immediate(void *arg) {
  rec(arg);
  cw_set_immediate(test_loop, last_immediate, "i3");
}

static void main_immediate_in_immediate(void *arg) {
  (void)arg;
  uv_prepare_init(cw_loop_uv(test_loop), &turn_marker);
  uv_prepare_start(&turn_marker, mark_turn);
  uv_unref((uv_handle_t *)&turn_marker);
  cw_set_immediate(test_loop, immediate_creates_immediate, "i1");
  cw_set_immediate(test_loop, rec_fn, "i2");
}

static void created_during_its_phase_runs_on_a_later_turn(void **state) {
  (void)state;
  assert_int_equal(cw_run(test_loop, main_timer_in_timer, NULL), 0);
  assert_rec("t1 i1 t2");
  rec_reset();
  assert_int_equal(cw_run(test_loop, main_immediate_in_immediate, NULL), 0);
  assert_rec("turn i1 i2 turn i3");
}

/* ---- intervals ------------------------------------------------------------ */

/*   let n = 0
 *   const iv = setInterval(() => {
 *     log('iv' + ++n)
 *     if (n === 1) { busy(3 ms); setTimeout(() => log('t'), 5) }
 *     if (n === 3) clearInterval(iv)
 *   }, 5)
 * prints: iv1 t iv2 iv3, every run. Node keeps one list per duration in
 * insertion order and re-inserts the interval when its callback returns, so
 * the timeout created inside comes first even though it was created 3 ms
 * after the interval's next period began. */
static cw_timer *interval;
static int interval_calls;

static void spin_ms(uint64_t ms) {
  uint64_t until = uv_hrtime() + ms * 1000000;
  while (uv_hrtime() < until)
    ;
}

static void on_interval(void *arg) {
  (void)arg;
  rec_fmt("iv%d", ++interval_calls);
  if (interval_calls == 1) {
    spin_ms(3);
    cw_set_timeout(test_loop, 5, rec_fn, "t");
  }
  if (interval_calls == 3)
    cw_clear(interval);
}

static void main_interval(void *arg) {
  (void)arg;
  interval = cw_set_interval(test_loop, 5, on_interval, NULL);
}

static void interval_rearmed_after_its_callback_and_cleared_inside(void **state) {
  (void)state;
  assert_int_equal(cw_run(test_loop, main_interval, NULL), 0);
  assert_rec("iv1 t iv2 iv3");
  assert_int_equal(cw_loop_timers(test_loop, NULL, NULL), 0);
  cw_clear(interval); /* cleared already: nothing to do */
}

/* ---- cw_clear ------------------------------------------------------------- */

/*   let t2
 *   setTimeout(() => { log('t1'); clearTimeout(t2) }, 0)
 *   t2 = setTimeout(() => log('t2'), 0)
 *   const t3 = setTimeout(() => { log('t3') }, 0)
 *   setTimeout(() => { log('t4'); clearTimeout(t3); clearTimeout(t2); clearTimeout(null) }, 0)
 * prints: t1 t3 t4 (clearing a fired or cleared timer does nothing)
 *   let i2
 *   setImmediate(() => { log('i1'); clearImmediate(i2) })
 *   i2 = setImmediate(() => log('i2'))
 *   const i3 = setImmediate(() => log('i3')); clearImmediate(i3)
 *   setImmediate(() => log('i4'))
 * prints: i1 i4
 * None of these clears is a misuse: the fixture fails the test on any report. */
static cw_timer *handles[4];

static void clear_next(void *label) {
  rec(label);
  cw_clear(handles[1]);
}

static void clear_fired_and_cleared(void *label) {
  rec(label);
  cw_clear(handles[0]); /* fired */
  cw_clear(handles[2]); /* fired */
  cw_clear(handles[1]); /* cleared */
  cw_clear(handles[3]); /* this one, running */
  cw_clear(NULL);
}

static void main_clear_timeouts(void *arg) {
  (void)arg;
  handles[0] = cw_set_timeout(test_loop, 0, clear_next, "t1");
  handles[1] = cw_set_timeout(test_loop, 0, rec_fn, "t2");
  handles[2] = cw_set_timeout(test_loop, 0, rec_fn, "t3");
  handles[3] = cw_set_timeout(test_loop, 0, clear_fired_and_cleared, "t4");
}

static void main_clear_immediates(void *arg) {
  (void)arg;
  handles[0] = cw_set_immediate(test_loop, clear_next, "i1");
  handles[1] = cw_set_immediate(test_loop, rec_fn, "i2");
  handles[2] = cw_set_immediate(test_loop, rec_fn, "i3");
  cw_clear(handles[2]);
  handles[3] = cw_set_immediate(test_loop, clear_fired_and_cleared, "i4");
}

static void clear_cancels_and_is_a_no_op_otherwise(void **state) {
  (void)state;
  assert_int_equal(cw_run(test_loop, main_clear_timeouts, NULL), 0);
  assert_rec("t1 t3 t4");
  rec_reset();
  assert_int_equal(cw_run(test_loop, main_clear_immediates, NULL), 0);
  assert_rec("i1 i4");
  cw_clear(handles[3]);
}

/* ---- the phase the loop reports ------------------------------------------ */

static cw_phase phases[16];
static size_t phases_len;

static void note_phase(void *label) {
  rec(label);
  if (phases_len < sizeof phases / sizeof phases[0])
    phases[phases_len++] = cw_loop_phase(test_loop);
}

static cw_result note_phase_handler(void *label, cw_result in) {
  note_phase(label);
  return in;
}

static void timer_notes_phases(void *label) {
  note_phase(label);
  cw_next_tick(test_loop, note_phase, "timer-tick");
  cw_set_immediate(test_loop, note_phase, "immediate");
}

static void main_phases(void *arg) {
  (void)arg;
  note_phase("main");
  cw_next_tick(test_loop, note_phase, "tick");
  cw_queue_microtask(test_loop, note_phase, "microtask");
  cw_detach(cw_then(cw_resolved(test_loop, NULL), note_phase_handler, NULL, "then"));
  cw_set_timeout(test_loop, 0, timer_notes_phases, "timer");
}

static void loop_phase_names_the_running_callback(void **state) {
  (void)state;
  phases_len = 0;
  assert_int_equal(cw_loop_phase(test_loop), CW_PHASE_NONE);
  assert_int_equal(cw_run(test_loop, main_phases, NULL), 0);
  assert_rec("main tick microtask then timer timer-tick immediate");
  const cw_phase expected[] = {CW_PHASE_MAIN,   CW_PHASE_TICK, CW_PHASE_MICROTASK, CW_PHASE_MICROTASK,
                               CW_PHASE_TIMERS, CW_PHASE_TICK, CW_PHASE_CHECK};
  assert_int_equal(phases_len, sizeof expected / sizeof expected[0]);
  for (size_t i = 0; i < phases_len; i++)
    assert_string_equal(cw_phase_name(phases[i]), cw_phase_name(expected[i]));
  assert_int_equal(cw_loop_phase(test_loop), CW_PHASE_NONE);
  assert_string_equal(cw_phase_name(CW_PHASE_MICROTASK), "microtask");
}

/* ---- cw_macrotask_begin/end around a callback of one's own -------------- */

static uv_timer_t raw_timer;

static void on_raw_timer(uv_timer_t *timer) {
  cw_macrotask_begin(test_loop, CW_PHASE_TIMERS);
  note_phase("raw");
  cw_queue_microtask(test_loop, note_phase, "micro");
  cw_next_tick(test_loop, note_phase, "tick");
  cw_macrotask_begin(test_loop, CW_PHASE_TIMERS);
  cw_queue_microtask(test_loop, rec_fn, "inner-micro");
  cw_macrotask_end(test_loop); /* nested: no drain yet */
  rec("inner-end");
  cw_macrotask_end(test_loop);
  rec("end");
  note_phase("after");
  uv_close((uv_handle_t *)timer, NULL);
}

static void main_raw_timer(void *arg) {
  (void)arg;
  uv_timer_init(cw_loop_uv(test_loop), &raw_timer);
  uv_timer_start(&raw_timer, on_raw_timer, 0, 0);
}

static void macrotask_brackets_drain_a_plain_libuv_callback(void **state) {
  (void)state;
  phases_len = 0;
  assert_int_equal(cw_run(test_loop, main_raw_timer, NULL), 0);
  assert_rec("raw inner-end tick micro inner-micro end after");
  const cw_phase expected[] = {CW_PHASE_TIMERS, CW_PHASE_TICK, CW_PHASE_MICROTASK, CW_PHASE_NONE};
  assert_int_equal(phases_len, sizeof expected / sizeof expected[0]);
  for (size_t i = 0; i < phases_len; i++)
    assert_string_equal(cw_phase_name(phases[i]), cw_phase_name(expected[i]));
}

/* ---- unref ----------------------------------------------------------------- */

/*   const t = setTimeout(() => log('unrefed'), 1000); t.unref()
 *   setTimeout(() => log('refed'), 1)
 * prints: refed (the unref'ed timer does not keep the process alive)
 *   t.ref() then lets it run. This runs on real time: the gap is wide so that a
 *   stalled machine cannot make both timers due on the first turn. */
static void unrefed_timer_does_not_keep_the_run_going(void **state) {
  (void)state;
  cw_timer *t = cw_set_timeout(test_loop, 1000, rec_fn, "unrefed");
  cw_timer_unref(t);
  cw_set_timeout(test_loop, 1, rec_fn, "refed");
  assert_int_equal(cw_run(test_loop, NULL, NULL), 0);
  assert_rec("refed");
  assert_int_equal(cw_loop_timers(test_loop, NULL, NULL), 1);
  cw_timer_ref(t);
  assert_int_equal(cw_run(test_loop, NULL, NULL), 0);
  assert_rec("refed unrefed");
  assert_int_equal(cw_loop_timers(test_loop, NULL, NULL), 0);
  cw_timer_unref(t); /* fired: nothing to do */
  cw_timer_unref(NULL);
}

/* ---- where timers were made --------------------------------------------------- */

/* A timer keeps its file and line as an id into the loop's table of call
 * sites: 100 sites in two files (the same lines in both, beyond the
 * table's first size), each made twice in a row and again later, come back
 * exact. The timer due n s from now was made at site n / 3 (within a
 * second: the loop runs on real time, which may move while they are made). */
enum { SITES = 100 };
static const char file_a[] = "a.c", file_b[] = "b.c";

static const char *site_file(int i) { return i % 2 ? file_b : file_a; }
static int site_line(int i) { return 1 + i / 2; }

struct seen_sites {
  uint64_t before; /* the loop's time before the timers were made */
  size_t wrong; /* timers not reported at their site */
};

static void see_site(void *arg, const cw_timer_info *timer) {
  struct seen_sites *seen = arg;
  int site = (int)((timer->due - seen->before) / 3000);
  if (timer->file != site_file(site) || timer->line != site_line(site))
    seen->wrong++;
}

static void timers_report_the_site_they_were_made_at(void **state) {
  (void)state;
  cw_timer *timers[3 * SITES];
  uv_update_time(cw_loop_uv(test_loop));
  struct seen_sites seen = {uv_now(cw_loop_uv(test_loop)), 0}; /* no later than any timer's start */
  for (int i = 0; i < SITES; i++) { /* due in 3i, 3i+1 and, made later, 3i+2 s */
    timers[3 * i] = cw_set_timeout_at(test_loop, (uint64_t)(3 * i) * 1000, rec_fn, "x", site_file(i), site_line(i));
    timers[3 * i + 1] =
        cw_set_timeout_at(test_loop, (uint64_t)(3 * i + 1) * 1000, rec_fn, "x", site_file(i), site_line(i));
  }
  for (int i = SITES; i-- > 0;)
    timers[3 * i + 2] =
        cw_set_timeout_at(test_loop, (uint64_t)(3 * i + 2) * 1000, rec_fn, "x", site_file(i), site_line(i));
  assert_int_equal(cw_loop_timers(test_loop, see_site, &seen), 3 * SITES);
  assert_int_equal(seen.wrong, 0);
  for (int i = 0; i < 3 * SITES; i++)
    cw_clear(timers[i]);
}

/* ---- a wrapped loop ------------------------------------------------------------ */

/* On a uv_loop_t the caller owns: the core's timers and queues run on it,
 * cw_loop_free leaves it open, and one more turn lets libuv finish closing
 * the core's handles, after which uv_loop_close succeeds. */
static cw_loop *wrapped;

static void main_wrapped(void *arg) {
  (void)arg;
  cw_set_timeout(wrapped, 1, rec_fn, "timeout");
  cw_detach(cw_then(cw_resolved(wrapped, NULL), rec_pass, NULL, "then"));
  rec("main");
}

static void wrapped_loop_runs_on_the_callers_uv_loop(void **state) {
  (void)state;
  uv_loop_t uv;
  assert_int_equal(uv_loop_init(&uv), 0);
  wrapped = cw_loop_wrap(&uv);
  assert_non_null(wrapped);
  assert_ptr_equal(cw_loop_uv(wrapped), &uv);
  assert_int_equal(cw_run(wrapped, main_wrapped, NULL), 0);
  assert_rec("main then timeout");
  cw_loop_free(wrapped);
  assert_int_equal(uv_loop_close(&uv), UV_EBUSY); /* the core's handles are closing */
  assert_int_equal(uv_run(&uv, UV_RUN_NOWAIT), 0);
  assert_int_equal(uv_loop_close(&uv), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      loop_test(ticks_first_then_microtasks_until_both_empty),
      loop_test(drain_between_timers_and_between_immediates),
      loop_test(equal_deadlines_fire_in_creation_order),
      loop_test(created_during_its_phase_runs_on_a_later_turn),
      loop_test(interval_rearmed_after_its_callback_and_cleared_inside),
      loop_test(clear_cancels_and_is_a_no_op_otherwise),
      loop_test(loop_phase_names_the_running_callback),
      loop_test(unrefed_timer_does_not_keep_the_run_going),
      loop_test(timers_report_the_site_they_were_made_at),
      loop_test(wrapped_loop_runs_on_the_callers_uv_loop),
      loop_test(macrotask_brackets_drain_a_plain_libuv_callback),
  };
  return cmocka_run_group_tests_name("drain", tests, NULL, NULL);
}
