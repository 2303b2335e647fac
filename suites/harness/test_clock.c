/* The virtual clock: plain libuv code and the core on virtual time, every
 * clock read agreeing, the controls with sinon's semantics, the loop guard,
 * real work waited for in real time, sleeps, threads, other epoll fds, and
 * real time again once the harness is gone.
 *
 * With the argument "bench" it prints how long an hour of uv timers takes
 * (meson benchmark 'clock-hour'). */
#include "harness_fixture.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>

static uv_loop_t *uv;
static void open_harness(cw_harness_opts opts) {
  assert_int_equal(harness_open(opts), 0);
  uv = cw_loop_uv(loop);
}

/* Records "label@ms" (virtual ms). */
static void note(const char *label) { rec_fmt("%s@%" PRIu64, label, cw_clock_now(h)); }

static void note_fn(void *label) { note(label); }

static void note_uv(uv_timer_t *timer) { note(timer->data); }

static void start_uv_timer(uv_timer_t *timer, const char *label, uint64_t ms, uint64_t repeat) {
  uv_timer_init(uv, timer);
  timer->data = (void *)label;
  uv_timer_start(timer, note_uv, ms, repeat);
}

static uint64_t ns_of(struct timespec ts) { return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec; }

static uint64_t read_ns(clockid_t id) {
  struct timespec ts;
  assert_int_equal(clock_gettime(id, &ts), 0);
  return ns_of(ts);
}

/* The kernel's CLOCK_MONOTONIC, past any interposition. */
static uint64_t kernel_monotonic_ns(void) {
  struct timespec ts;
  assert_int_equal(syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &ts), 0);
  return ns_of(ts);
}

/* A real sleep, past any interposition. */
static void kernel_sleep_ms(long ms) {
  struct timespec ts = {0, ms * 1000000};
  assert_int_equal(syscall(SYS_nanosleep, &ts, NULL), 0);
}

/* ---- a plain libuv program: an hour of timers ------------------------------------- */

/* No clockwork calls: a ticker every second for an hour that checks uv_now
 * at each tick, and alarms at odd times; all on the harness's loop. */
static struct {
  uv_loop_t *uv;
  uv_timer_t ticker, alarms[4];
  uint64_t start;
  int ticks, late_ticks;
  char order[256];
} hour;

static void hour_log(const char *label) {
  size_t n = strlen(hour.order);
  snprintf(hour.order + n, sizeof hour.order - n, "%s%s@%" PRIu64, n ? " " : "", label, uv_now(hour.uv) - hour.start);
}

static void hour_tick(uv_timer_t *ticker) {
  hour.ticks++;
  if (uv_now(hour.uv) - hour.start != (uint64_t)hour.ticks * 1000)
    hour.late_ticks++;
  if (hour.ticks == 3600) {
    hour_log("ticks-done");
    uv_close((uv_handle_t *)ticker, NULL);
  }
}

static void hour_alarm(uv_timer_t *alarm) {
  hour_log(alarm->data);
  uv_close((uv_handle_t *)alarm, NULL);
}

static void hour_program(uv_loop_t *loop_uv) {
  static const struct {
    const char *label;
    uint64_t ms;
  } alarms[] = {{"late", 3600500}, {"half", 1800500}, {"first", 1}, {"almost", 3599999}};
  memset(&hour, 0, sizeof hour);
  hour.uv = loop_uv;
  hour.start = uv_now(loop_uv);
  uv_timer_init(loop_uv, &hour.ticker);
  uv_timer_start(&hour.ticker, hour_tick, 1000, 1000);
  for (int i = 0; i < 4; i++) {
    uv_timer_init(loop_uv, &hour.alarms[i]);
    hour.alarms[i].data = (void *)alarms[i].label;
    uv_timer_start(&hour.alarms[i], hour_alarm, alarms[i].ms, 0);
  }
  uv_run(loop_uv, UV_RUN_DEFAULT);
}

static void an_hour_of_uv_timers_runs_at_once_in_order(void **state) {
  (void)state;
  open_harness(capture_opts(0));
  uint64_t wall = read_ns(CLOCK_MONOTONIC_RAW);
  hour_program(uv);
  wall = read_ns(CLOCK_MONOTONIC_RAW) - wall;
  assert_string_equal(hour.order, "first@1 half@1800500 almost@3599999 ticks-done@3600000 late@3600500");
  assert_int_equal(hour.ticks, 3600);
  assert_int_equal(hour.late_ticks, 0);
  assert_int_equal(cw_clock_now(h), 3600500);
  assert_true(wall < 5000000000u); /* a sanity bound, not a timing: an hour of virtual time */
}

/* ---- every clock agrees -------------------------------------------------------------- */

static void every_clock_reads_the_virtual_time(void **state) {
  (void)state;
  cw_harness_opts opts = capture_opts(0);
  opts.start_unix_ms = 1700000000123;
  open_harness(opts);
  assert_int_equal(cw_clock_now(h), 0);
  uint64_t mono = read_ns(CLOCK_MONOTONIC), hr = uv_hrtime(), now = uv_now(uv);
  assert_int_equal(read_ns(CLOCK_MONOTONIC_COARSE), mono);
  assert_int_equal(read_ns(CLOCK_BOOTTIME), mono);
  assert_int_equal(hr, mono);
  assert_int_equal(now, mono / 1000000);
  assert_int_equal(read_ns(CLOCK_MONOTONIC), mono); /* time stands still */
  assert_int_equal(read_ns(CLOCK_REALTIME), 1700000000123000000u);
  assert_int_equal(read_ns(CLOCK_REALTIME_COARSE), 1700000000123000000u);
  struct timeval tv;
  assert_int_equal(gettimeofday(&tv, NULL), 0);
  assert_int_equal(tv.tv_sec, 1700000000);
  assert_int_equal(tv.tv_usec, 123000);
  time_t t;
  assert_int_equal(time(&t), 1700000000);
  assert_int_equal(t, 1700000000);

  uint64_t raw = read_ns(CLOCK_MONOTONIC_RAW);
  const uint64_t step = 90061001; /* a day, an hour, a minute, a second and a millisecond */
  cw_clock_advance(h, step);
  assert_int_equal(cw_clock_now(h), step);
  assert_int_equal(read_ns(CLOCK_MONOTONIC) - mono, step * 1000000);
  assert_int_equal(read_ns(CLOCK_MONOTONIC_COARSE) - mono, step * 1000000);
  assert_int_equal(uv_hrtime() - hr, step * 1000000);
  uv_update_time(uv);
  assert_int_equal(uv_now(uv) - now, step);
  assert_int_equal(read_ns(CLOCK_REALTIME), (1700000000123u + step) * 1000000);
  uv_timeval64_t tv64;
  assert_int_equal(uv_gettimeofday(&tv64), 0);
  assert_int_equal(tv64.tv_sec, 1700090061);
  assert_int_equal(tv64.tv_usec, 124000);
  assert_int_equal(time(NULL), 1700090061);
  assert_true(read_ns(CLOCK_MONOTONIC_RAW) - raw < 5000000000u); /* MONOTONIC_RAW stays real */
  harness_close();
}

/* ---- the controls ----------------------------------------------------------------------- */

static void at_a(void *arg) {
  (void)arg;
  note("a");
  cw_queue_microtask(loop, note_fn, "a-micro");
  cw_set_immediate(loop, note_fn, "a-imm");
  cw_set_timeout(loop, 5, note_fn, "a5");
  cw_set_timeout(loop, 15, note_fn, "a15");
}

static void advance_fires_what_is_due_in_the_window_in_order(void **state) {
  (void)state;
  open_harness(capture_opts(0));
  cw_set_timeout(loop, 30, note_fn, "c");
  cw_set_timeout(loop, 10, at_a, NULL);
  cw_set_timeout(loop, 20, note_fn, "b");
  cw_set_timeout(loop, 10, note_fn, "a2");
  cw_clock_advance(h, 20);
  /* drains between callbacks; a5, made during the window and due in it, fires; a15 (25) waits */
  assert_rec("a@10 a-micro@10 a2@10 a-imm@10 a5@15 b@20");
  assert_int_equal(cw_clock_now(h), 20);
  assert_int_equal(cw_clock_timer_count(h), 2);
  cw_clock_advance(h, 10);
  assert_rec("a@10 a-micro@10 a2@10 a-imm@10 a5@15 b@20 a15@25 c@30");
  assert_int_equal(cw_clock_timer_count(h), 0);
  cw_clock_advance(h, 0);
  assert_int_equal(cw_clock_now(h), 30);
  harness_close();
}

static void advance_fires_intervals_each_time_they_are_due(void **state) {
  (void)state;
  open_harness(capture_opts(0));
  static uv_timer_t repeating;
  cw_timer *interval = cw_set_interval(loop, 7, note_fn, "iv");
  start_uv_timer(&repeating, "uv", 10, 10);
  cw_clock_advance(h, 30);
  assert_rec("iv@7 uv@10 iv@14 uv@20 iv@21 iv@28 uv@30");
  cw_clear(interval);
  uv_close((uv_handle_t *)&repeating, NULL);
  harness_close();
}

static void next_jumps_to_the_next_timer_only(void **state) {
  (void)state;
  open_harness(capture_opts(0));
  static uv_timer_t z;
  cw_set_timeout(loop, 10, note_fn, "x");
  cw_set_timeout(loop, 10, note_fn, "y");
  start_uv_timer(&z, "z", 30, 0);
  assert_true(cw_clock_next(h));
  assert_rec("x@10 y@10");
  assert_true(cw_clock_next(h));
  assert_rec("x@10 y@10 z@30");
  assert_false(cw_clock_next(h));
  assert_int_equal(cw_clock_now(h), 30);
  uv_close((uv_handle_t *)&z, NULL);
  harness_close();
}

static int chain_left;

static void chain_link(void *label) {
  note(label);
  static const char *const labels[] = {"1", "2", "3", "4"};
  if (chain_left > 0)
    cw_set_timeout(loop, 100, chain_link, (void *)labels[4 - chain_left--]);
}

static void run_all_fires_timers_until_none_is_left(void **state) {
  (void)state;
  open_harness(capture_opts(0));
  chain_left = 4;
  cw_set_timeout(loop, 100, chain_link, "0");
  assert_int_equal(cw_clock_run_all(h), 5);
  assert_rec("0@100 1@200 2@300 3@400 4@500");
  assert_int_equal(cw_clock_timer_count(h), 0);
  assert_int_equal(cw_clock_run_all(h), 0);
  assert_int_equal(cw_clock_now(h), 500);
  harness_close();
}

static void at_p10(void *arg) {
  (void)arg;
  note("p10");
  cw_set_timeout(loop, 20, note_fn, "new30");
  cw_set_timeout(loop, 45, note_fn, "new55");
}

static void at_p50(void *arg) {
  (void)arg;
  note("p50");
  cw_set_timeout(loop, 10, note_fn, "new60");
}

static void run_pending_stops_at_the_last_deadline_pending_now(void **state) {
  (void)state;
  open_harness(capture_opts(0));
  cw_set_timeout(loop, 50, at_p50, NULL);
  cw_set_timeout(loop, 10, at_p10, NULL);
  /* new30 is due before 50 and fires; new55 and new60 are later than the last pending deadline */
  assert_int_equal(cw_clock_run_pending(h), 3);
  assert_rec("p10@10 new30@30 p50@50");
  assert_int_equal(cw_clock_now(h), 50);
  assert_int_equal(cw_clock_timer_count(h), 2);
  assert_int_equal(cw_clock_run_all(h), 2);
  assert_rec("p10@10 new30@30 p50@50 new55@55 new60@60");
  assert_int_equal(cw_clock_run_pending(h), 0);
  assert_int_equal(cw_clock_now(h), 60);
  harness_close();
}

static void timer_count_counts_core_timers_and_uv_timers(void **state) {
  (void)state;
  open_harness(capture_opts(0));
  static uv_timer_t armed, idle;
  assert_int_equal(cw_clock_timer_count(h), 0);
  cw_timer *timeout = cw_set_timeout(loop, 10, note_fn, "t");
  cw_timer *interval = cw_set_interval(loop, 10, note_fn, "i");
  cw_timer *immediate = cw_set_immediate(loop, note_fn, "m");
  assert_int_equal(cw_clock_timer_count(h), 3);
  start_uv_timer(&armed, "armed", 5, 0);
  uv_timer_init(uv, &idle); /* never started: not armed */
  assert_int_equal(cw_clock_timer_count(h), 4);
  cw_clear(timeout);
  cw_clear(immediate);
  uv_timer_stop(&armed);
  assert_int_equal(cw_clock_timer_count(h), 1);
  cw_clear(interval);
  assert_int_equal(cw_clock_timer_count(h), 0);
  uv_close((uv_handle_t *)&armed, NULL);
  uv_close((uv_handle_t *)&idle, NULL);
  harness_close();
}

/* ---- the loop guard ----------------------------------------------------------------------- */

/* Global, and the program is linked with export_dynamic: the guard names it. */
int forever_ticks;
void forever_tick(void *arg);
void forever_tick(void *arg) {
  (void)arg;
  forever_ticks++;
}

static void run_all_stops_an_interval_that_never_ends(void **state) {
  (void)state;
  cw_harness_opts opts = capture_opts(0);
  opts.max_timer_firings = 50;
  open_harness(opts);
  forever_ticks = 0;
  cw_timer *hourly = cw_set_timeout(loop, 3600000, note_fn, "hourly");
  int line = __LINE__ + 1;
  cw_timer *interval = cw_set_interval(loop, 1, forever_tick, NULL);
  assert_int_equal(cw_clock_run_all(h), 50);
  assert_int_equal(forever_ticks, 50);
  assert_int_equal(cw_clock_now(h), 50);
  char body[512];
  snprintf(body, sizeof body,
           ": loop guard: the clock reached 50 timer deadlines, now 50 ms, and timers keep re-arming: interval "
           "forever_tick (created at %s:%d) due at 51 ms, timeout ",
           __FILE__, line);
  expect_failure_with(body, NULL);
  cw_clear(interval);
  cw_clear(hourly);
  harness_close();
}

void forever_uv(uv_timer_t *timer);
void forever_uv(uv_timer_t *timer) {
  (void)timer;
  forever_ticks++;
}

static void harness_run_stops_a_uv_timer_that_never_ends(void **state) {
  (void)state;
  cw_harness_opts opts = capture_opts(0);
  opts.max_timer_firings = 20;
  open_harness(opts);
  static uv_timer_t repeating;
  forever_ticks = 0;
  uv_timer_init(uv, &repeating);
  uv_timer_start(&repeating, forever_uv, 1, 1);
  assert_int_equal(cw_harness_run(h, NULL, NULL), CW_ELIMIT);
  assert_int_equal(forever_ticks, 20);
  expect_failure_with(": loop guard: the clock reached 20 timer deadlines, now 20 ms, and timers keep re-arming: "
                      "repeating uv_timer_t forever_uv due at 21 ms\n", NULL);
  assert_int_equal(captured.len, 1);
  uv_close((uv_handle_t *)&repeating, NULL);
  harness_close();
}

static void control(void *arg) {
  (void)arg;
  cw_clock_advance(h, 10);
}

static void controls_from_a_callback_are_a_failure(void **state) {
  (void)state;
  open_harness(capture_opts(0));
  assert_int_equal(cw_harness_run(h, control, NULL), 0);
  expect_failure_with(": cw_clock_advance called from a callback or another thread: the clock controls run the "
                      "loop, call them from the test between runs\n", NULL);
  assert_int_equal(cw_clock_now(h), 0);
  harness_close();
}

/* ---- the wall clock ------------------------------------------------------------------------- */

static void set_system_time_moves_the_wall_clock_only(void **state) {
  (void)state;
  open_harness(capture_opts(0));
  assert_int_equal(read_ns(CLOCK_REALTIME), 1767225600000000000u); /* 2026-01-01T00:00:00Z */
  cw_set_timeout(loop, 2000, note_fn, "t2000");
  cw_clock_advance(h, 1000);
  uint64_t mono = read_ns(CLOCK_MONOTONIC), hr = uv_hrtime();
  cw_clock_set_system_time(h, 946684800000); /* 2000-01-01 */
  assert_int_equal(read_ns(CLOCK_REALTIME), 946684800000000000u);
  assert_int_equal(time(NULL), 946684800);
  assert_int_equal(read_ns(CLOCK_MONOTONIC), mono);
  assert_int_equal(uv_hrtime(), hr);
  assert_int_equal(cw_clock_now(h), 1000);
  cw_clock_advance(h, 1500);
  struct timeval tv;
  gettimeofday(&tv, NULL);
  assert_int_equal(tv.tv_sec, 946684801);
  assert_int_equal(tv.tv_usec, 500000);
  assert_rec("t2000@2000");
  harness_close();
}

/* ---- real work ------------------------------------------------------------------------------ */

/* A request on libuv's threadpool that takes 30 ms of real time, raced
 * against uv timers at 20 and 1000 ms. The semantics: while the work is
 * outstanding the clock follows real time, never past the next deadline,
 * so the 20 ms timer fires at 20, as it would on the real clock; the work
 * completes in real time (30 ms after it was queued, which is at least 20
 * of virtual time: code runs in no virtual time); then nothing real is left
 * and the clock jumps to 1000. */
static struct {
  uv_work_t work;
  uv_timer_t t20, t1000;
  uint64_t start_ns, t20_ns, done_ms, queued_raw, done_raw;
} race;

static void race_t20(uv_timer_t *timer) {
  race.t20_ns = read_ns(CLOCK_MONOTONIC) - race.start_ns;
  note_uv(timer);
}

static void sleep_30ms_for_real(uv_work_t *work) {
  (void)work;
  usleep(30000); /* a threadpool thread, not the harness's: a real sleep */
}

static void work_done(uv_work_t *work, int status) {
  (void)work;
  assert_int_equal(status, 0);
  race.done_ms = cw_clock_now(h);
  race.done_raw = read_ns(CLOCK_MONOTONIC_RAW);
  note("work");
}

static void start_race(void *arg) {
  (void)arg;
  race.queued_raw = read_ns(CLOCK_MONOTONIC_RAW);
  race.start_ns = read_ns(CLOCK_MONOTONIC);
  assert_int_equal(uv_queue_work(uv, &race.work, sleep_30ms_for_real, work_done), 0);
  start_uv_timer(&race.t20, "t20", 20, 0);
  uv_timer_start(&race.t20, race_t20, 20, 0);
  start_uv_timer(&race.t1000, "t1000", 1000, 0);
}

static void check_race(void) {
  char expected[64];
  snprintf(expected, sizeof expected, "t20@20 work@%" PRIu64 " t1000@1000", race.done_ms);
  assert_rec(expected);
  assert_int_equal(race.t20_ns, 20000000); /* following real time, the clock stopped at the deadline */
  assert_true(race.done_ms >= 20 && race.done_ms < 1000);
  assert_true(race.done_raw - race.queued_raw >= 30000000);
  uv_close((uv_handle_t *)&race.t20, NULL);
  uv_close((uv_handle_t *)&race.t1000, NULL);
}

static void harness_run_waits_for_real_work_in_real_time(void **state) {
  (void)state;
  open_harness(capture_opts(0));
  assert_int_equal(cw_harness_run(h, start_race, NULL), 0);
  check_race();
  harness_close();
}

static void run_all_waits_for_real_work_in_real_time(void **state) {
  (void)state;
  open_harness(capture_opts(0));
  start_race(NULL);
  assert_int_equal(cw_clock_run_all(h), 2);
  check_race();
  harness_close();
}

/* A connect started from an immediate, in the check phase of a turn, is
 * registered with epoll only at the next poll: the controls must turn the
 * loop for it rather than wait for real until the 5 s timer. The server is
 * a bare listening socket, outside the loop: the kernel completes the
 * handshake into its backlog. */
static struct {
  uv_tcp_t client;
  uv_connect_t connect;
  uv_timer_t t5000;
  struct sockaddr_in address;
} tcp;

static void on_connect(uv_connect_t *req, int status) {
  assert_int_equal(status, 0);
  note("connected");
  uv_close((uv_handle_t *)req->handle, NULL);
}

static void start_connect(void *arg) {
  (void)arg;
  uv_tcp_init(uv, &tcp.client);
  assert_int_equal(uv_tcp_connect(&tcp.connect, &tcp.client, (struct sockaddr *)&tcp.address, on_connect), 0);
}

static void a_connect_from_an_immediate_completes_without_waiting(void **state) {
  (void)state;
  open_harness(capture_opts(0));
  int server = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  socklen_t len = sizeof tcp.address;
  uv_ip4_addr("127.0.0.1", 0, &tcp.address);
  assert_int_equal(bind(server, (struct sockaddr *)&tcp.address, len), 0);
  assert_int_equal(listen(server, 1), 0);
  assert_int_equal(getsockname(server, (struct sockaddr *)&tcp.address, &len), 0);
  start_uv_timer(&tcp.t5000, "t5000", 5000, 0);
  cw_set_immediate(loop, start_connect, NULL);
  uint64_t raw = read_ns(CLOCK_MONOTONIC_RAW);
  assert_int_equal(cw_clock_run_all(h), 1);
  assert_true(read_ns(CLOCK_MONOTONIC_RAW) - raw < 2500000000u); /* it did not wait the 5 s for real */
  assert_rec("connected@0 t5000@5000");
  uv_close((uv_handle_t *)&tcp.t5000, NULL);
  close(server);
  harness_close();
}

/* ---- sleeps, threads, other fds ----------------------------------------------------------- */

static void sleeps_of_the_harness_thread_move_the_clock(void **state) {
  (void)state;
  open_harness(capture_opts(0));
  uint64_t mono = read_ns(CLOCK_MONOTONIC), raw = read_ns(CLOCK_MONOTONIC_RAW);
  assert_int_equal(nanosleep(&(struct timespec){0, 1500000}, NULL), 0);
  assert_int_equal(read_ns(CLOCK_MONOTONIC) - mono, 1500000);
  assert_int_equal(usleep(2500), 0);
  assert_int_equal(sleep(2), 0);
  assert_int_equal(cw_clock_now(h), 2004);
  assert_int_equal(clock_nanosleep(CLOCK_MONOTONIC, 0, &(struct timespec){1, 0}, NULL), 0);
  struct timespec until;
  clock_gettime(CLOCK_MONOTONIC, &until);
  until.tv_nsec += 10000000;
  if (until.tv_nsec >= 1000000000)
    until.tv_sec++, until.tv_nsec -= 1000000000;
  assert_int_equal(clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL), 0);
  assert_int_equal(cw_clock_now(h), 3014);
  assert_int_equal(clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &(struct timespec){1000, 0}, NULL), 0); /* past */
  uv_sleep(6);
  assert_int_equal(cw_clock_now(h), 3020);
  errno = 0;
  assert_int_equal(nanosleep(&(struct timespec){0, 2000000000}, NULL), -1);
  assert_int_equal(errno, EINVAL);
  assert_int_equal(cw_clock_now(h), 3020);
  assert_true(read_ns(CLOCK_MONOTONIC_RAW) - raw < 1000000000u); /* 3 s of sleeps took no real time */
  harness_close();
}

static struct {
  uint64_t mono_before, mono_after, raw_slept;
} other;

static void *other_thread(void *arg) {
  (void)arg;
  other.mono_before = read_ns(CLOCK_MONOTONIC);
  uint64_t raw = read_ns(CLOCK_MONOTONIC_RAW);
  usleep(20000);
  other.raw_slept = read_ns(CLOCK_MONOTONIC_RAW) - raw;
  other.mono_after = read_ns(CLOCK_MONOTONIC);
  return NULL;
}

static void other_threads_read_virtual_time_and_sleep_for_real(void **state) {
  (void)state;
  open_harness(capture_opts(0));
  cw_clock_advance(h, 5000);
  uint64_t mono = read_ns(CLOCK_MONOTONIC);
  pthread_t thread;
  assert_int_equal(pthread_create(&thread, NULL, other_thread, NULL), 0);
  assert_int_equal(pthread_join(thread, NULL), 0);
  assert_int_equal(other.mono_before, mono);
  assert_int_equal(other.mono_after, mono); /* its real sleep moved nothing */
  assert_true(other.raw_slept >= 20000000);
  assert_int_equal(cw_clock_now(h), 5000);
  harness_close();
}

static void other_epoll_fds_poll_for_real(void **state) {
  (void)state;
  open_harness(capture_opts(0));
  int epfd = epoll_create1(EPOLL_CLOEXEC);
  assert_true(epfd >= 0);
  struct epoll_event ev;
  uint64_t raw = read_ns(CLOCK_MONOTONIC_RAW);
  assert_int_equal(epoll_wait(epfd, &ev, 1, 30), 0);
  assert_true(read_ns(CLOCK_MONOTONIC_RAW) - raw >= 29000000); /* the kernel's timer slack aside */
  assert_int_equal(cw_clock_now(h), 0);
  close(epfd);
  harness_close();
}

/* Whether CLOCK_MONOTONIC from libc moves with the kernel's across a real 2 ms sleep. */
static bool monotonic_is_real(void) {
  uint64_t before = read_ns(CLOCK_MONOTONIC), kernel_before = kernel_monotonic_ns();
  kernel_sleep_ms(2);
  uint64_t kernel_after = kernel_monotonic_ns(), after = read_ns(CLOCK_MONOTONIC);
  return before <= kernel_before && kernel_after <= after && after - before >= 2000000;
}

static void time_is_real_outside_a_harness(void **state) {
  (void)state;
  assert_true(monotonic_is_real());
  open_harness(capture_opts(0));
  assert_false(monotonic_is_real());
  harness_close();
  assert_true(monotonic_is_real());
  uint64_t raw = read_ns(CLOCK_MONOTONIC_RAW);
  usleep(10000);
  assert_true(read_ns(CLOCK_MONOTONIC_RAW) - raw >= 10000000);
}

/* ---- the core on virtual time ------------------------------------------------------------- */

static int interval_runs;
static cw_timer *interval;
static uint64_t uv_start;

static void core_interval(void *arg) {
  (void)arg;
  note("iv");
  uv_update_time(uv);
  assert_int_equal(uv_now(uv) - uv_start, cw_clock_now(h));
  if (++interval_runs == 3)
    cw_clear(interval);
}

static void core_second(void *arg) {
  (void)arg;
  note("second");
  interval_runs = 0;
  interval = cw_set_interval(loop, 100, core_interval, NULL);
}

static void core_main(void *arg) {
  (void)arg;
  uv_start = uv_now(uv);
  cw_set_timeout(loop, 1000, note_fn, "first");
  cw_set_timeout(loop, 2500, core_second, NULL);
}

static void core_timers_run_on_virtual_time(void **state) {
  (void)state;
  open_harness(capture_opts(0));
  assert_int_equal(cw_harness_run(h, core_main, NULL), 0);
  assert_rec("first@1000 second@2500 iv@2600 iv@2700 iv@2800");
  harness_close();
}

/* A hand-written retry with backoff (1, 2, 4, 8, 15 s): the sixth attempt,
 * at 30 s, succeeds. */
static int attempts;

static void attempt(void *arg) {
  (void)arg;
  static const uint64_t backoff_ms[] = {1000, 2000, 4000, 8000, 15000};
  note("attempt");
  if (++attempts == 6)
    note("ok");
  else
    cw_set_timeout(loop, backoff_ms[attempts - 1], attempt, NULL);
}

static void retry_with_backoff_covers_30_s_at_once(void **state) {
  (void)state;
  open_harness(capture_opts(0));
  attempts = 0;
  uint64_t wall = read_ns(CLOCK_MONOTONIC_RAW);
  assert_int_equal(cw_harness_run(h, attempt, NULL), 0);
  wall = read_ns(CLOCK_MONOTONIC_RAW) - wall;
  assert_rec("attempt@0 attempt@1000 attempt@3000 attempt@7000 attempt@15000 attempt@30000 ok@30000");
  assert_true(wall < 5000000000u); /* a sanity bound: 30 s of virtual time */
  harness_close();
}

/* ---- shuffle ------------------------------------------------------------------------------- */

/* setTimeout(0) against setImmediate from the main script: Node leaves the
 * order to chance. The order goes to its own log; the 100 ms timer, to the
 * log with times, must still fire at exactly 100 (a coin never overshoots). */
static char order[64];

static void order_fn(void *label) {
  size_t n = strlen(order);
  snprintf(order + n, sizeof order - n, "%s%s", n ? " " : "", (const char *)label);
}

static void race_main(void *arg) {
  (void)arg;
  cw_set_timeout(loop, 0, order_fn, "timeout");
  cw_set_immediate(loop, order_fn, "immediate");
  cw_set_timeout(loop, 100, note_fn, "t100");
}

/* The order of one run. */
static const char *run_race(uint64_t seed, bool shuffle) {
  cw_harness_opts opts = capture_opts(0);
  opts.seed = seed;
  opts.shuffle = shuffle;
  open_harness(opts);
  order[0] = '\0';
  assert_int_equal(cw_harness_run(h, race_main, NULL), 0);
  assert_rec("t100@100");
  harness_close();
  return order;
}

static void shuffle_lets_a_seeded_millisecond_pass(void **state) {
  (void)state;
  for (uint64_t seed = 1; seed <= 16; seed++)
    assert_string_equal(run_race(seed, false), "immediate timeout");
  unsigned seen = 0;
  for (uint64_t seed = 1; seed <= 16; seed++) {
    char first[64];
    snprintf(first, sizeof first, "%s", run_race(seed, true));
    if (strcmp(first, "immediate timeout") == 0)
      seen |= 1;
    else if (strcmp(first, "timeout immediate") == 0)
      seen |= 2;
    else
      fail_msg("seed %" PRIu64 ": unexpected order %s", seed, first);
    assert_string_equal(run_race(seed, true), first); /* the seed replays the order */
  }
  assert_int_equal(seen, 3);
}

/* ---- benchmark ---------------------------------------------------------------------------- */

static int bench(void) {
  enum { RUNS = 5 };
  uint64_t best = UINT64_MAX;
  for (int i = 0; i < RUNS; i++) {
    cw_harness *b = cw_harness_new(NULL);
    uint64_t wall = read_ns(CLOCK_MONOTONIC_RAW);
    hour_program(cw_loop_uv(cw_harness_loop(b)));
    wall = read_ns(CLOCK_MONOTONIC_RAW) - wall;
    cw_harness_free(b);
    if (hour.ticks != 3600 || hour.late_ticks != 0)
      return 1;
    if (wall < best)
      best = wall;
  }
  printf("an hour of uv timers (3604 firings, plain libuv on the harness): %.2f ms wall (best of %d)\n",
         (double)best / 1e6, RUNS);
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 2 && strcmp(argv[1], "bench") == 0)
    return bench();
  const struct CMUnitTest tests[] = {
      harness_test_opening(an_hour_of_uv_timers_runs_at_once_in_order),
      harness_test_opening(every_clock_reads_the_virtual_time),
      harness_test_opening(advance_fires_what_is_due_in_the_window_in_order),
      harness_test_opening(advance_fires_intervals_each_time_they_are_due),
      harness_test_opening(next_jumps_to_the_next_timer_only),
      harness_test_opening(run_all_fires_timers_until_none_is_left),
      harness_test_opening(run_pending_stops_at_the_last_deadline_pending_now),
      harness_test_opening(timer_count_counts_core_timers_and_uv_timers),
      harness_test_opening(run_all_stops_an_interval_that_never_ends),
      harness_test_opening(harness_run_stops_a_uv_timer_that_never_ends),
      harness_test_opening(controls_from_a_callback_are_a_failure),
      harness_test_opening(set_system_time_moves_the_wall_clock_only),
      harness_test_opening(harness_run_waits_for_real_work_in_real_time),
      harness_test_opening(run_all_waits_for_real_work_in_real_time),
      harness_test_opening(a_connect_from_an_immediate_completes_without_waiting),
      harness_test_opening(sleeps_of_the_harness_thread_move_the_clock),
      harness_test_opening(other_threads_read_virtual_time_and_sleep_for_real),
      harness_test_opening(other_epoll_fds_poll_for_real),
      harness_test_opening(time_is_real_outside_a_harness),
      harness_test_opening(core_timers_run_on_virtual_time),
      harness_test_opening(retry_with_backoff_covers_30_s_at_once),
      harness_test_opening(shuffle_lets_a_seeded_millisecond_pass),
  };
  return cmocka_run_group_tests_name("clock", tests, NULL, NULL);
}
