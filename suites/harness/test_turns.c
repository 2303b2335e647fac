/* The turns the clock skips. When the core's next timeout is the only thing
 * left before time must pass, its timers phase moves the clock on and goes
 * on firing (cw_loop_set_timer_advance), instead of a turn of the loop per
 * deadline. That is only allowed while the turns skipped would do nothing:
 * each test here puts one thing a turn would do between two timeouts of a
 * chain, and checks it happens between them, as it does turn by turn. */
#include "harness_fixture.h"

#include <inttypes.h>
#include <sys/socket.h>

static uv_loop_t *uv;

static void open_harness(void) {
  assert_int_equal(harness_open(capture_opts(0)), 0);
  uv = cw_loop_uv(loop);
}

/* Records "label@ms" (virtual ms). */
static void note(const char *label) { rec_fmt("%s@%" PRIu64, label, cw_clock_now(h)); }

static void note_fn(void *label) { note(label); }

/* A chain of timeouts a ms apart, "t1".."t<n>"; before setting the next,
 * each calls between(i) (i from 1), which may start something a turn does. */
static int chain_length;
static void (*between)(int i);

static void chain_link(void *arg) {
  int i = (int)(intptr_t)arg;
  static const char *const labels[] = {"t0", "t1", "t2", "t3", "t4", "t5", "t6", "t7", "t8"};
  note(labels[i]);
  if (between)
    between(i);
  if (i < chain_length)
    cw_set_timeout(loop, 1, chain_link, (void *)(intptr_t)(i + 1));
}

static size_t run_chain(int length, void (*fn)(int i)) {
  chain_length = length;
  between = fn;
  cw_set_timeout(loop, 1, chain_link, (void *)(intptr_t)1);
  return cw_clock_run_all(h);
}

/* ---- the chain alone: one deadline a timeout ------------------------------------------ */

static void a_chain_alone_reaches_each_deadline_in_order(void **state) {
  (void)state;
  open_harness();
  assert_int_equal(run_chain(5, NULL), 5);
  assert_rec("t1@1 t2@2 t3@3 t4@4 t5@5");
  assert_int_equal(cw_clock_now(h), 5);
}

static void next_reaches_one_deadline_of_a_chain(void **state) {
  (void)state;
  open_harness();
  chain_length = 3;
  between = NULL;
  cw_set_timeout(loop, 1, chain_link, (void *)(intptr_t)1);
  assert_true(cw_clock_next(h));
  assert_rec("t1@1");
  assert_true(cw_clock_next(h));
  assert_rec("t1@1 t2@2");
  assert_int_equal(cw_clock_run_all(h), 1);
  assert_rec("t1@1 t2@2 t3@3");
}

/* ---- what a turn between them does ----------------------------------------------------- */

static uv_check_t check;
static uv_prepare_t prepare;

static void on_check(uv_check_t *handle) {
  (void)handle;
  note("check");
}

static void on_prepare(uv_prepare_t *handle) {
  (void)handle;
  note("prepare");
}

static void start_check_at_2(int i) {
  if (i == 2) {
    uv_check_init(uv, &check);
    uv_check_start(&check, on_check);
  }
}

static void a_check_handle_runs_in_every_turn(void **state) {
  (void)state;
  open_harness();
  run_chain(4, start_check_at_2);
  assert_rec("t1@1 t2@2 check@2 t3@3 check@3 t4@4 check@4");
  uv_close((uv_handle_t *)&check, NULL);
  cw_clock_run_all(h);
}

static void start_prepare_at_2(int i) {
  if (i == 2) {
    uv_prepare_init(uv, &prepare);
    uv_prepare_start(&prepare, on_prepare);
  }
}

static void a_prepare_handle_runs_in_every_turn(void **state) {
  (void)state;
  open_harness();
  run_chain(4, start_prepare_at_2);
  assert_rec("t1@1 t2@2 prepare@2 t3@3 prepare@3 t4@4 prepare@4");
  uv_close((uv_handle_t *)&prepare, NULL);
  cw_clock_run_all(h);
}

static uv_idle_t idle;

static void on_idle(uv_idle_t *handle) {
  note("idle");
  uv_idle_stop(handle);
}

static void start_idle_at_2(int i) {
  if (i == 2) {
    uv_idle_init(uv, &idle);
    uv_idle_start(&idle, on_idle);
  }
}

static void an_idle_handle_runs_before_the_next_timeout(void **state) {
  (void)state;
  open_harness();
  run_chain(3, start_idle_at_2);
  assert_rec("t1@1 t2@2 idle@2 t3@3");
  uv_close((uv_handle_t *)&idle, NULL);
  cw_clock_run_all(h);
}

static uv_timer_t closed_timer;

static void on_closed(uv_handle_t *handle) {
  (void)handle;
  note("closed");
}

static void close_at_2(int i) {
  if (i == 2)
    uv_close((uv_handle_t *)&closed_timer, on_closed);
}

static void a_close_completes_before_the_next_timeout(void **state) {
  (void)state;
  open_harness();
  uv_timer_init(uv, &closed_timer); /* never started: only closed */
  run_chain(3, close_at_2);
  assert_rec("t1@1 t2@2 closed@2 t3@3");
}

static uv_async_t async;

static void on_async(uv_async_t *handle) {
  (void)handle;
  note("async");
}

static void send_at_2(int i) {
  if (i == 2)
    uv_async_send(&async);
}

static void an_async_sent_runs_before_the_next_timeout(void **state) {
  (void)state;
  open_harness();
  uv_async_init(uv, &async, on_async);
  run_chain(3, send_at_2);
  assert_rec("t1@1 t2@2 async@2 t3@3");
  uv_close((uv_handle_t *)&async, NULL);
  cw_clock_run_all(h);
}

static int pair[2];
static uv_pipe_t reader;

static void alloc(uv_handle_t *handle, size_t size, uv_buf_t *buf) {
  (void)handle, (void)size;
  static char space[16];
  *buf = uv_buf_init(space, sizeof space);
}

static void on_read(uv_stream_t *stream, ssize_t n, const uv_buf_t *buf) {
  (void)buf;
  if (n > 0) {
    note("read");
    uv_read_stop(stream);
  }
}

static void read_at_2(int i) {
  if (i == 2)
    uv_read_start((uv_stream_t *)&reader, alloc, on_read);
}

static void a_read_started_runs_before_the_next_timeout(void **state) {
  (void)state;
  open_harness();
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, pair), 0);
  assert_int_equal(write(pair[1], "x", 1), 1); /* waiting to be read already */
  uv_pipe_init(uv, &reader, 0);
  assert_int_equal(uv_pipe_open(&reader, pair[0]), 0);
  run_chain(3, read_at_2);
  assert_rec("t1@1 t2@2 read@2 t3@3");
  uv_close((uv_handle_t *)&reader, NULL);
  cw_clock_run_all(h);
  close(pair[1]);
}

static uv_timer_t plain;

static void on_plain(uv_timer_t *timer) {
  (void)timer;
  note("uv");
}

static void a_uv_timer_due_between_keeps_its_place(void **state) {
  (void)state;
  open_harness();
  uv_timer_init(uv, &plain);
  uv_timer_start(&plain, on_plain, 2, 0); /* due with t2, and started before t2 was: first */
  run_chain(3, NULL);
  assert_rec("t1@1 uv@2 t2@2 t3@3");
  uv_close((uv_handle_t *)&plain, NULL);
  cw_clock_run_all(h);
}

static void immediate_at_2(int i) {
  if (i == 2)
    cw_set_immediate(loop, note_fn, "immediate");
}

static void an_immediate_runs_before_the_next_timeout(void **state) {
  (void)state;
  open_harness();
  run_chain(3, immediate_at_2);
  assert_rec("t1@1 t2@2 immediate@2 t3@3");
}

static void advance_stops_at_its_target(void **state) {
  (void)state;
  open_harness();
  chain_length = 5;
  between = NULL;
  cw_set_timeout(loop, 1, chain_link, (void *)(intptr_t)1);
  cw_clock_advance(h, 3);
  assert_rec("t1@1 t2@2 t3@3");
  assert_int_equal(cw_clock_timer_count(h), 1);
  cw_clock_run_all(h);
  assert_rec("t1@1 t2@2 t3@3 t4@4 t5@5");
}

/* A callback that sleeps past the next deadlines: the next turn's timers
 * phase would see the time it woke at, and run every list due by then, so
 * B (due at 8, in A's list) runs before M (due at 7, a list behind A's),
 * as Node 20 runs it. */
static void note_and_sleep(void *label) {
  note(label);
  assert_int_equal(usleep(10000), 0);
}

static void a_sleep_past_deadlines_runs_what_is_due_by_then(void **state) {
  (void)state;
  open_harness();
  cw_set_timeout(loop, 5, note_and_sleep, "K");
  cw_set_timeout(loop, 6, note_fn, "A");
  cw_set_timeout(loop, 7, note_fn, "M");
  cw_clock_advance(h, 2);
  cw_set_timeout(loop, 6, note_fn, "B");
  cw_clock_run_all(h);
  assert_rec("K@5 A@15 B@15 M@15");
}

/* libuv tells at most INT_MAX ms (24.8 days) to its next timer: next
 * reaches a later deadline all the same, in one jump. */
static void next_reaches_a_deadline_beyond_24_days(void **state) {
  (void)state;
  open_harness();
  cw_set_timeout(loop, 3000000000u, note_fn, "far");
  assert_true(cw_clock_next(h));
  assert_rec("far@3000000000");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      harness_test_opening(a_chain_alone_reaches_each_deadline_in_order),
      harness_test_opening(next_reaches_one_deadline_of_a_chain),
      harness_test_opening(a_check_handle_runs_in_every_turn),
      harness_test_opening(a_prepare_handle_runs_in_every_turn),
      harness_test_opening(an_idle_handle_runs_before_the_next_timeout),
      harness_test_opening(a_close_completes_before_the_next_timeout),
      harness_test_opening(an_async_sent_runs_before_the_next_timeout),
      harness_test_opening(a_read_started_runs_before_the_next_timeout),
      harness_test_opening(a_uv_timer_due_between_keeps_its_place),
      harness_test_opening(an_immediate_runs_before_the_next_timeout),
      harness_test_opening(advance_stops_at_its_target),
      harness_test_opening(a_sleep_past_deadlines_runs_what_is_due_by_then),
      harness_test_opening(next_reaches_a_deadline_beyond_24_days),
  };
  return cmocka_run_group_tests_name("turns", tests, NULL, NULL);
}
