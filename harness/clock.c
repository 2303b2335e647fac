/* The virtual clock: the clock reads, the sleeps and the polls of the
 * harness's loop are interposed, so plain libuv code, uv_now, uv_hrtime and
 * the core's timers all run on virtual time.
 *
 * How. A program linked with the harness defines clock_gettime,
 * gettimeofday, time, nanosleep, clock_nanosleep, usleep, sleep,
 * epoll_wait and epoll_pwait itself (below, with default visibility: the
 * library is built with hidden visibility), ahead of libc in the dynamic
 * linker's order, so its calls and libuv's bind here. Each calls the real
 * function (found once, with dlsym(RTLD_NEXT)) when no harness exists.
 * libuv 1.44 reads time with clock_gettime (uv_hrtime: CLOCK_MONOTONIC;
 * uv_now: CLOCK_MONOTONIC_COARSE when its resolution is 1 ms or better,
 * else MONOTONIC) and waits in uv__io_poll with epoll_wait (epoll_pwait
 * when the loop blocks SIGPROF). clock_start checks that uv_hrtime reads
 * the virtual clock, and reports a failure if the interposition is missing.
 *
 * What it does, while a harness exists:
 *  - Time stands still unless moved. CLOCK_MONOTONIC, MONOTONIC_COARSE and
 *    BOOTTIME read MONO_BASE plus the virtual time; REALTIME and
 *    REALTIME_COARSE, gettimeofday and time read opts.start_unix_ms plus the
 *    virtual time, shifted by cw_clock_set_system_time. MONOTONIC_RAW, CPU
 *    clocks and clock_getres stay real. Reads are virtual on every thread.
 *  - The sleeps of the harness's thread (the one that made it) move the
 *    clock and return at once; other threads sleep for real.
 *  - A poll of the harness's loop (its epoll fd, from its thread) polls
 *    without blocking; when nothing is ready it jumps the clock to the
 *    deadline libuv gave (its next timer). While real work is outstanding
 *    on the loop (requests: threadpool work, fs, DNS, connects, writes; and
 *    child processes), or when the loop has no timer at all, it waits for
 *    real instead, and the clock follows real time meanwhile, never past
 *    the deadline: a timeout fires when it would have without the harness,
 *    never early because of a jump. A poll without waiting is answered
 *    without the system call when nothing on the loop can be ready (quiet,
 *    below): that is most polls of timer-only code. Other epoll fds poll
 *    for real.
 *  - opts.shuffle: during cw_harness_run, each poll of the loop, and once
 *    between main and the loop's first turn, lets 0 or 1 ms pass on a coin
 *    tossed with the loop's seeded generator. That flushes out code relying
 *    on an order Node leaves to chance (a 0 ms timeout against an immediate
 *    from the main script: whether 1 ms passed before the first timers
 *    phase), and the seed replays the order seen.
 *  - The controls (cw_clock_advance…) run the loop themselves with
 *    UV_RUN_NOWAIT, jumping from deadline to deadline (and waiting for real
 *    work as above); they are exact: no shuffle. They are called from the
 *    test between runs, not from callbacks.
 *  - Loop guard: cw_harness_run and each control reach at most
 *    max_timer_firings timer deadlines (and a control turns the loop at most
 *    that many times without time passing); beyond, a failure names the
 *    timers still armed, soonest first, and the loop stops.
 *  - opts.real_time: the clock follows real time from the start, for good
 *    (uncapped): polls and sleeps wait for real, nothing jumps, so no
 *    shuffle and no controls; the clock reads still start at 0 and the wall
 *    clock at opts.start_unix_ms. */
#define _GNU_SOURCE
#include "harness_internal.h"

#include "clockwork/concurrency.h"

#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define INTERPOSED __attribute__((visibility("default")))

#define MS UINT64_C(1000000)          /* ns */
#define SEC UINT64_C(1000000000)      /* ns */
#define NONE UINT64_MAX               /* no deadline */
#define MONO_BASE (86400 * SEC)       /* CLOCK_MONOTONIC at virtual 0: as if up a day; whole ms */

/* ---- the real functions ------------------------------------------------------ */

static struct {
  int (*clock_gettime)(clockid_t, struct timespec *);
  int (*gettimeofday)(struct timeval *, void *);
  time_t (*time)(time_t *);
  int (*nanosleep)(const struct timespec *, struct timespec *);
  int (*clock_nanosleep)(clockid_t, int, const struct timespec *, struct timespec *);
  int (*usleep)(useconds_t);
  unsigned (*sleep)(unsigned);
  int (*epoll_wait)(int, struct epoll_event *, int, int);
  int (*epoll_pwait)(int, struct epoll_event *, int, int, const sigset_t *);
} real;
static pthread_once_t resolved = PTHREAD_ONCE_INIT;

static void *find_real(const char *name) {
  void *fn = dlsym(RTLD_NEXT, name);
  if (!fn) {
    fprintf(stderr, "clockwork: no real %s behind the harness's (%s); the harness needs a dynamically linked program\n",
            name, dlerror());
    abort();
  }
  return fn;
}

#define RESOLVE(name) real.name = find_real(#name)
static void resolve(void) {
  RESOLVE(clock_gettime);
  RESOLVE(gettimeofday);
  RESOLVE(time);
  RESOLVE(nanosleep);
  RESOLVE(clock_nanosleep);
  RESOLVE(usleep);
  RESOLVE(sleep);
  RESOLVE(epoll_wait);
  RESOLVE(epoll_pwait);
}

/* ---- the clock ------------------------------------------------------------------ */

/* The time is written by the harness's thread only and read by any thread,
 * under a sequence lock (odd while a write is under way). While the clock
 * follows real time, readers add the real time passed since follow_since,
 * up to follow_cap. */
struct vclock {
  cw_harness *h;
  uint64_t starts;               /* clock_start calls so far: the harness's thread has the last in started_here */
  atomic_uint seq;
  _Atomic uint64_t elapsed;      /* virtual ns since the harness began */
  _Atomic int64_t wall_base;     /* REALTIME in ns at elapsed 0 */
  _Atomic uint64_t follow_since; /* MONOTONIC_RAW ns when following began; 0: not following */
  _Atomic uint64_t follow_cap;
  /* the harness's thread only */
  bool running;         /* inside cw_harness_run */
  bool controlling;     /* inside a cw_clock_* control */
  bool tripped;         /* the loop guard tripped in this run or control */
  bool toss_after_main; /* shuffle: the coin between main and the first turn is due */
  uint64_t macrotasks_at_begin;
  size_t jumps;         /* timer deadlines reached in this run or control */
  uint64_t drive_limit; /* run_until's: how far, and how many deadlines, the timers phase may jump */
  size_t drive_max_jumps;
  uv_loop_t *uv;
  const uv_handle_t *core_check; /* the core's check handle, once seen */
  const void *quiet_tail; /* the last handle of the loop when its walk found no waker in this timers phase */
};

static vclock the_clock; /* one harness at a time; static, so late readers never touch freed memory */
static _Atomic(vclock *) live;

/* The clock reads of libuv ask this several times a turn: a thread-local
 * compare costs less than pthread_self and pthread_equal. Initial-exec: the
 * harness is linked into the program, never dlopen'ed. */
static _Thread_local __attribute__((tls_model("initial-exec"))) uint64_t started_here;

static bool on_harness_thread(const vclock *c) { return started_here == c->starts; }

/* The live clock, NULL when there is none. A live clock had the real
 * functions resolved before it was published; without one they are
 * resolved here, before the caller falls back to them. */
static vclock *live_clock(void) {
  vclock *c = atomic_load_explicit(&live, memory_order_acquire);
  if (!c)
    pthread_once(&resolved, resolve);
  return c;
}

static uint64_t raw_ns(void) {
  struct timespec ts;
  real.clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
  return (uint64_t)ts.tv_sec * SEC + (uint64_t)ts.tv_nsec;
}

typedef struct {
  uint64_t elapsed;
  int64_t wall_base;
} reading;

static uint64_t followed(vclock *c, uint64_t elapsed, uint64_t since) {
  uint64_t t = elapsed + (raw_ns() - since), cap = atomic_load_explicit(&c->follow_cap, memory_order_relaxed);
  return t < cap ? t : cap;
}

/* Inline, the rare following apart: every clock read of libuv comes here. */
static inline reading read_fields(vclock *c) {
  reading r = {atomic_load_explicit(&c->elapsed, memory_order_relaxed),
               atomic_load_explicit(&c->wall_base, memory_order_relaxed)};
  uint64_t since = atomic_load_explicit(&c->follow_since, memory_order_relaxed);
  if (since)
    r.elapsed = followed(c, r.elapsed, since);
  return r;
}

/* mine: on the harness's thread, the only writer: nothing to wait for,
 * even from a signal handler. */
static reading read_clock_from(vclock *c, bool mine) {
  if (mine)
    return read_fields(c);
  for (;;) {
    unsigned seq = atomic_load_explicit(&c->seq, memory_order_acquire);
    reading r = read_fields(c); /* the real clock is read inside too: a follow ending meanwhile retries */
    atomic_thread_fence(memory_order_acquire);
    if (!(seq & 1) && atomic_load_explicit(&c->seq, memory_order_relaxed) == seq)
      return r;
  }
}

static reading read_clock(vclock *c) { return read_clock_from(c, on_harness_thread(c)); }

static uint64_t elapsed_of(vclock *c) { return read_clock(c).elapsed; }

/* The harness's thread is the only writer, so the count needs no atomic
 * increment; the odd count is seen before the fields change (a release
 * fence: no instruction on x86). Jumps write on every deadline reached. */
static void bump_seq(vclock *c, memory_order order) {
  atomic_store_explicit(&c->seq, atomic_load_explicit(&c->seq, memory_order_relaxed) + 1, order);
}

static void write_begin(vclock *c) {
  bump_seq(c, memory_order_relaxed);
  atomic_thread_fence(memory_order_release);
}

static void write_end(vclock *c) { bump_seq(c, memory_order_release); }

/* Moves the clock to t; never back. */
static void jump_to(vclock *c, uint64_t t) {
  if (t <= atomic_load_explicit(&c->elapsed, memory_order_relaxed))
    return;
  write_begin(c);
  atomic_store_explicit(&c->elapsed, t, memory_order_relaxed);
  write_end(c);
}

static uint64_t later(uint64_t t, uint64_t ns) { return ns < NONE - 1 - t ? t + ns : NONE - 1; }

static void jump_by(vclock *c, uint64_t ns) { jump_to(c, later(elapsed_of(c), ns)); }

static void follow_begin(vclock *c, uint64_t cap) {
  write_begin(c);
  atomic_store_explicit(&c->follow_cap, cap, memory_order_relaxed);
  atomic_store_explicit(&c->follow_since, raw_ns(), memory_order_relaxed);
  write_end(c);
}

static void follow_end(vclock *c) {
  /* The odd count first, seen by all before we read the real time: a
   * reader whose real time is later than ours retries. */
  write_begin(c);
  atomic_thread_fence(memory_order_seq_cst);
  uint64_t now = read_fields(c).elapsed;
  atomic_store_explicit(&c->elapsed, now, memory_order_relaxed);
  atomic_store_explicit(&c->follow_since, 0, memory_order_relaxed);
  write_end(c);
}

static struct timespec timespec_of(int64_t ns) {
  int64_t sec = ns / (int64_t)SEC, rem = ns % (int64_t)SEC;
  if (rem < 0)
    sec--, rem += (int64_t)SEC;
  return (struct timespec){.tv_sec = sec, .tv_nsec = rem};
}

static struct timespec wall_now(vclock *c) {
  reading r = read_clock(c);
  return timespec_of(r.wall_base + (int64_t)r.elapsed);
}

enum { REAL, MONOTONIC, WALL };

static int kind_of(clockid_t id) {
  switch (id) {
  case CLOCK_MONOTONIC:
  case CLOCK_MONOTONIC_COARSE:
  case CLOCK_BOOTTIME:
    return MONOTONIC;
  case CLOCK_REALTIME:
  case CLOCK_REALTIME_COARSE:
    return WALL;
  default:
    return REAL;
  }
}

/* ---- failures and the loop guard ------------------------------------------------- */

#define FAIL(h, ...) fail_at(h, __LINE__, __VA_ARGS__)
static void fail_at(cw_harness *h, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void fail_at(cw_harness *h, int line, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  harness_failv(h, __FILE__, line, fmt, ap);
  va_end(ap);
}

/* The loop's time in ms (uv_now) as virtual ns since the start. */
static uint64_t virtual_of_loop_ms(uint64_t ms) { return ms * MS - MONO_BASE; }

typedef struct {
  const cw_harness *h;
  const cw_loop *loop;
  uv_loop_t *uv;
  cw_timer_visit_fn fn;
  void *arg;
  size_t count;
} timer_walk;

static void visit_uv_timer(uv_handle_t *handle, void *arg) {
  timer_walk *w = arg;
  if (handle->type != UV_TIMER || !uv_is_active(handle) || cw_loop_owns_handle(w->loop, handle) ||
      fakes_owns_handle(w->h, handle))
    return;
  w->count++;
  if (w->fn) {
    uv_timer_t *timer = (uv_timer_t *)handle;
    cw_timer_info info = {uv_timer_get_repeat(timer) ? "repeating uv_timer_t" : "uv_timer_t",
                          (cw_fn)(void (*)(void))timer->timer_cb, handle,
                          uv_now(w->uv) + uv_timer_get_due_in(timer), NULL, 0};
    w->fn(w->arg, &info);
  }
}

/* Every timer armed on the harness's loop, fn (may be NULL) seeing each:
 * the core's timeouts, intervals and immediates, and the loop's own
 * uv_timer_t handles (due in loop ms). */
static size_t each_timer(cw_harness *h, cw_timer_visit_fn fn, void *arg) {
  timer_walk w = {h, h->loop, cw_loop_uv(h->loop), fn, arg, 0};
  uv_walk(w.uv, visit_uv_timer, &w);
  return cw_loop_timers(h->loop, fn, arg) + w.count;
}

enum { SOONEST = 5 };
typedef struct {
  cw_timer_info top[SOONEST]; /* by due time; immediates (due 0) first */
  size_t len, total;
} soonest;

static void keep_soonest(void *arg, const cw_timer_info *t) {
  soonest *s = arg;
  s->total++;
  if (s->len == SOONEST && t->due >= s->top[SOONEST - 1].due)
    return;
  size_t i = s->len < SOONEST ? s->len++ : SOONEST - 1;
  for (; i > 0 && s->top[i - 1].due > t->due; i--)
    s->top[i] = s->top[i - 1];
  s->top[i] = *t;
}

/* The guard tripped: a failure naming the timers armed, soonest first. */
static void trip(vclock *c, bool jumping) {
  cw_harness *h = c->h;
  soonest s = {.len = 0};
  each_timer(h, keep_soonest, &s);
  char msg[2048], name[256];
  size_t n = (size_t)snprintf(msg, sizeof msg,
                              jumping ? "loop guard: the clock reached %zu timer deadlines, now %" PRIu64
                                        " ms, and timers keep re-arming:"
                                      : "loop guard: the loop turned %zu times at %" PRIu64
                                        " ms without time passing, and work keeps coming:",
                              h->opts.max_timer_firings, elapsed_of(c) / MS);
  for (size_t i = 0; i < s.len && n < sizeof msg; i++) {
    const cw_timer_info *t = &s.top[i];
    n += (size_t)snprintf(msg + n, sizeof msg - n, "%s %s %s", i ? "," : "", t->kind,
                          harness_fn_name(t->fn, name, sizeof name));
    if (n < sizeof msg && t->file)
      n += (size_t)snprintf(msg + n, sizeof msg - n, " (created at %s:%d)", t->file, t->line);
    if (n < sizeof msg && t->due)
      n += (size_t)snprintf(msg + n, sizeof msg - n, " due at %" PRIu64 " ms", virtual_of_loop_ms(t->due) / MS);
  }
  if (n < sizeof msg && s.total > s.len)
    snprintf(msg + n, sizeof msg - n, ", and %zu more", s.total - s.len);
  c->tripped = true;
  FAIL(h, "%s", msg);
}

/* Counts a timer deadline reached; false (the guard tripped) past the limit. */
static bool note_jump(vclock *c) {
  if (c->jumps == c->h->opts.max_timer_firings) {
    if (!c->tripped)
      trip(c, true);
    return false;
  }
  c->jumps++;
  return true;
}

/* ---- polls ------------------------------------------------------------------------ */

static int poll_real(int epfd, struct epoll_event *events, int max, int timeout, const sigset_t *mask) {
  return mask ? real.epoll_pwait(epfd, events, max, timeout, mask) : real.epoll_wait(epfd, events, max, timeout);
}

/* Waits for real, no later than deadline (virtual ns; NONE: no limit), the
 * clock following real time meanwhile. */
static int wait_real(vclock *c, int epfd, struct epoll_event *events, int max, uint64_t deadline,
                     const sigset_t *mask) {
  int ms = -1;
  if (deadline != NONE) {
    uint64_t now = elapsed_of(c), left = deadline > now ? (deadline - now + MS - 1) / MS : 0;
    ms = left < INT_MAX ? (int)left : INT_MAX;
  }
  follow_begin(c, deadline);
  int n = poll_real(epfd, events, max, ms, mask);
  int saved = errno;
  follow_end(c);
  errno = saved;
  return n;
}

/* libuv's intrusive queues (void *[2] up to 1.44, struct uv__queue since):
 * a node's first pointer is the next one. */
static void *queue_next(const void *node) { return *(void *const *)node; }

static bool queue_empty(const void *queue) { return queue_next(queue) == queue; }

/* Real work outstanding: requests (threadpool work, fs, DNS, connects,
 * writes, shutdowns) or a child process still running (libuv keeps those,
 * from uv_spawn until reaped or closed, in process_handles). */
static bool real_work_pending(uv_loop_t *uv) {
  return uv->active_reqs.count > 0 || !queue_empty(&uv->process_handles);
}

/* w is registered with the loop (counted in its nfds). */
static bool watching(const uv_loop_t *uv, const uv__io_t *w) {
  return w->fd >= 0 && (unsigned)w->fd < uv->nwatchers && uv->watchers[w->fd] == w;
}

/* A uv_async_t or uv_signal_t of the loop's user: libuv's own are the
 * threadpool's async and the SIGCHLD watcher of child processes. */
static bool user_waker(uv_loop_t *uv, const uv_handle_t *handle) {
  return (handle->type == UV_ASYNC && handle != (const uv_handle_t *)&uv->wq_async) ||
         (handle->type == UV_SIGNAL && handle != (const uv_handle_t *)&uv->child_watcher);
}

/* Nothing can make the loop's epoll fd ready, so a poll without waiting
 * would find nothing and is answered without the system call (the clock
 * makes two such polls per deadline it jumps to, which were most of the
 * cost of a jump). The epoll set holds the fds of the loop's watchers, and
 * fds of watchers stopped since (libuv drops those when an event comes,
 * with no callback: a poll skipped changes nothing for them). Nothing is:
 *  - no request is active: threadpool work, fs and DNS complete through
 *    the loop's async fd, connects, writes and shutdowns through their fds;
 *  - the loop watches no fd (nfds) beyond its own two, the signal pipe and
 *    the async eventfd: any stream, pipe, poll, listen, UDP or fs event
 *    watcher adds one;
 *  - no child process is running: its exit comes as SIGCHLD through the
 *    signal pipe;
 *  - and the loop has no uv_async_t or uv_signal_t of its user: another
 *    thread may send an async at any time, a signal (even one raised by a
 *    callback) is written to the signal pipe, and a closing signal handle
 *    may still have signals there to deliver before it can close. libuv's
 *    own async is sent only on completing threadpool work, a request.
 * The walk of the handles is short: the first checks fail first on a loop
 * with many streams. */
static bool quiet_fds(uv_loop_t *uv) {
  return !real_work_pending(uv) &&
         uv->nfds == (unsigned)watching(uv, &uv->signal_io_watcher) + watching(uv, &uv->async_io_watcher);
}

static bool no_user_waker(uv_loop_t *uv) {
  for (const char *q = queue_next(&uv->handle_queue); q != (const char *)&uv->handle_queue; q = queue_next(q))
    if (user_waker(uv, (const uv_handle_t *)(q - offsetof(uv_handle_t, handle_queue))))
      return false;
  return true;
}

static bool quiet(uv_loop_t *uv) { return quiet_fds(uv) && no_user_waker(uv); }

/* A poll of the loop without waiting. */
static int poll_now(uv_loop_t *uv, struct epoll_event *events, int max, const sigset_t *mask) {
  return quiet(uv) ? 0 : poll_real(uv_backend_fd(uv), events, max, 0, mask);
}

/* The virtual time of the loop's deadline timeout ms after its now. */
static uint64_t deadline_of(uv_loop_t *uv, uint64_t timeout) {
  return virtual_of_loop_ms(uv_now(uv) + timeout);
}

static void keep_earliest_due(uv_handle_t *handle, void *earliest) {
  if (handle->type == UV_TIMER && uv_is_active(handle)) {
    uint64_t due_in = uv_timer_get_due_in((uv_timer_t *)handle);
    if (due_in < *(uint64_t *)earliest)
      *(uint64_t *)earliest = due_in;
  }
}

/* uv_backend_timeout, which caps at INT_MAX ms (24.8 days): a timer due
 * later than that is found among the loop's timers; -1 (never) past half
 * of what the virtual clock counts. */
static int64_t backend_timeout(uv_loop_t *uv) {
  int timeout = uv_backend_timeout(uv);
  if (timeout != INT_MAX)
    return timeout;
  uint64_t earliest = UINT64_MAX;
  uv_walk(uv, keep_earliest_due, &earliest);
  return earliest < NONE / MS / 2 ? (int64_t)earliest : -1;
}

static bool shuffling(const vclock *c) { return c->running && c->h->opts.shuffle && !c->h->opts.real_time; }

/* Shuffle: 0 or 1 ms passes, never past cap. */
static void toss(vclock *c, uint64_t cap) {
  if (cw_random(c->h->loop) & 1) {
    uint64_t t = later(elapsed_of(c), MS);
    jump_to(c, t < cap ? t : cap);
  }
}

/* The shuffle's coin between main and the loop's first turn: the first clock
 * read once main's macrotask is over is libuv's, at the top of uv_run. */
static void toss_after_main(vclock *c) {
  cw_loop *loop = c->h->loop;
  if (cw_loop_phase(loop) != CW_PHASE_NONE || cw_loop_macrotask_count(loop) <= c->macrotasks_at_begin)
    return;
  c->toss_after_main = false;
  toss(c, NONE);
}

/* A poll of the harness's loop, from uv__io_poll: timeout is libuv's,
 * the time to its next timer, -1 when it has none. */
static int poll_loop(vclock *c, uv_loop_t *uv, struct epoll_event *events, int max, int timeout,
                     const sigset_t *mask) {
  uint64_t deadline = timeout > 0 ? deadline_of(uv, timeout) : NONE;
  if (shuffling(c))
    toss(c, deadline);
  int n = poll_now(uv, events, max, mask);
  if (n != 0 || timeout == 0)
    return n;
  if (timeout < 0 || real_work_pending(uv))
    return wait_real(c, uv_backend_fd(uv), events, max, deadline, mask);
  if (c->running && !note_jump(c))
    uv_stop(uv); /* still jump: uv__io_poll polls again until its timeout has passed */
  jump_to(c, deadline);
  return 0;
}

static int poll_any(int epfd, struct epoll_event *events, int max, int timeout, const sigset_t *mask) {
  vclock *c = live_clock();
  uv_loop_t *uv;
  if (!c || !on_harness_thread(c) || c->h->opts.real_time || !c->h->loop ||
      epfd != uv_backend_fd(uv = cw_loop_uv(c->h->loop)))
    return poll_real(epfd, events, max, timeout, mask);
  return poll_loop(c, uv, events, max, timeout, mask);
}

/* ---- the interposed functions ------------------------------------------------------ */

INTERPOSED int clock_gettime(clockid_t id, struct timespec *ts) {
  vclock *c = live_clock();
  int kind = c ? kind_of(id) : REAL;
  if (kind == REAL)
    return real.clock_gettime(id, ts);
  bool mine = on_harness_thread(c);
  if (mine && c->toss_after_main)
    toss_after_main(c);
  reading r = read_clock_from(c, mine);
  if (kind == WALL) {
    *ts = timespec_of(r.wall_base + (int64_t)r.elapsed);
  } else { /* never negative: libuv reads it several times a turn */
    uint64_t ns = MONO_BASE + r.elapsed;
    *ts = (struct timespec){.tv_sec = (time_t)(ns / SEC), .tv_nsec = (long)(ns % SEC)};
  }
  return 0;
}

INTERPOSED int gettimeofday(struct timeval *restrict tv, void *restrict tz) {
  vclock *c = live_clock();
  int rc = real.gettimeofday(tv, tz); /* fills tz, if asked, as libc does */
  if (c && rc == 0) {
    struct timespec now = wall_now(c);
    tv->tv_sec = now.tv_sec;
    tv->tv_usec = now.tv_nsec / 1000;
  }
  return rc;
}

INTERPOSED time_t time(time_t *out) {
  vclock *c = live_clock();
  if (!c)
    return real.time(out);
  time_t now = wall_now(c).tv_sec;
  if (out)
    *out = now;
  return now;
}

/* The clock this thread's sleeps move, NULL when they are real. */
static vclock *sleeper(void) {
  vclock *c = live_clock();
  return c && on_harness_thread(c) && !c->h->opts.real_time ? c : NULL;
}

/* A valid sleep request (else the real call reports the error). */
static bool valid(const struct timespec *ts) { return ts && ts->tv_sec >= 0 && ts->tv_nsec >= 0 && ts->tv_nsec < (long)SEC; }

static uint64_t ns_of(const struct timespec *ts) { return (uint64_t)ts->tv_sec * SEC + (uint64_t)ts->tv_nsec; }

INTERPOSED int nanosleep(const struct timespec *req, struct timespec *rem) {
  vclock *c = sleeper();
  if (!c || !valid(req))
    return real.nanosleep(req, rem);
  jump_by(c, ns_of(req));
  return 0;
}

INTERPOSED int clock_nanosleep(clockid_t id, int flags, const struct timespec *req, struct timespec *rem) {
  vclock *c = sleeper();
  int kind = id == CLOCK_MONOTONIC_COARSE || id == CLOCK_REALTIME_COARSE ? REAL : kind_of(id); /* no sleeping on those */
  if (!c || kind == REAL || !valid(req))
    return real.clock_nanosleep(id, flags, req, rem);
  if (flags & TIMER_ABSTIME) {
    int64_t base = kind == WALL ? read_clock(c).wall_base : (int64_t)MONO_BASE, until = (int64_t)ns_of(req) - base;
    jump_to(c, until > 0 ? (uint64_t)until : 0);
  } else {
    jump_by(c, ns_of(req));
  }
  return 0;
}

INTERPOSED int usleep(useconds_t us) {
  vclock *c = sleeper();
  if (!c)
    return real.usleep(us);
  jump_by(c, (uint64_t)us * 1000);
  return 0;
}

INTERPOSED unsigned sleep(unsigned seconds) {
  vclock *c = sleeper();
  if (!c)
    return real.sleep(seconds);
  jump_by(c, (uint64_t)seconds * SEC);
  return 0;
}

INTERPOSED int epoll_wait(int epfd, struct epoll_event *events, int max, int timeout) {
  return poll_any(epfd, events, max, timeout, NULL);
}

INTERPOSED int epoll_pwait(int epfd, struct epoll_event *events, int max, int timeout, const sigset_t *mask) {
  return poll_any(epfd, events, max, timeout, mask);
}

/* ---- the harness's side ------------------------------------------------------------- */

void clock_start(cw_harness *h) {
  pthread_once(&resolved, resolve);
  vclock *c = &the_clock;
  c->h = h;
  started_here = ++c->starts;
  atomic_store(&c->elapsed, 0);
  atomic_store(&c->wall_base, h->opts.start_unix_ms * (int64_t)MS);
  atomic_store(&c->follow_since, 0);
  c->running = c->controlling = c->tripped = c->toss_after_main = false;
  c->jumps = 0;
  h->clock = c;
  atomic_store_explicit(&live, c, memory_order_release);
  if (uv_hrtime() != MONO_BASE)
    FAIL(h, "libuv does not read the virtual clock (uv_hrtime() is %" PRIu64 " ns): link the program with the "
            "harness, dynamically (static programs and direct vDSO calls see real time)", uv_hrtime());
  if (h->opts.real_time)
    follow_begin(c, NONE);
}

void clock_stop(cw_harness *h) {
  atomic_store_explicit(&live, NULL, memory_order_release);
  h->clock = NULL;
}

void clock_run_begin(cw_harness *h) {
  vclock *c = h->clock;
  c->running = true;
  c->tripped = false;
  c->jumps = 0;
  c->toss_after_main = shuffling(c);
  c->macrotasks_at_begin = cw_loop_macrotask_count(h->loop);
}

bool clock_run_end(cw_harness *h) {
  vclock *c = h->clock;
  c->running = c->toss_after_main = false;
  return c->tripped;
}

/* ---- the controls ------------------------------------------------------------------- */

static vclock *control_begin(cw_harness *h, const char *function) {
  vclock *c = h ? h->clock : NULL;
  if (!c)
    return NULL;
  if (!on_harness_thread(c) || c->running || c->controlling || cw_loop_phase(h->loop) != CW_PHASE_NONE) {
    FAIL(h, "%s called from a callback or another thread: the clock controls run the loop, call them from "
            "the test between runs", function);
    return NULL;
  }
  if (h->opts.real_time) {
    FAIL(h, "%s: the clock controls move virtual time, and opts.real_time is set: run the loop with "
            "cw_harness_run, time passes for real", function);
    return NULL;
  }
  c->controlling = true;
  c->tripped = false;
  c->jumps = 0;
  return c;
}

/* Runs the loop until nothing is runnable without time passing; returns
 * the virtual time of its next timer then, NONE if it has none. Runnable:
 * uv_backend_timeout is 0 for a timer due now, immediates (an idle handle),
 * pending or closing callbacks, and watchers libuv has yet to register
 * with epoll (a connect started in the check phase); and fds may be ready. */
static uint64_t settle(vclock *c) {
  uv_loop_t *uv = cw_loop_uv(c->h->loop);
  struct epoll_event ready;
  for (size_t turns = 0;; turns++) {
    if (turns == c->h->opts.max_timer_firings) {
      trip(c, false);
      return NONE;
    }
    c->quiet_tail = NULL; /* a turn: handles may have left */
    uv_run(uv, UV_RUN_NOWAIT);
    if (!uv_loop_alive(uv))
      return NONE;
    /* uv_update_time, unless it would change nothing: most turns move no
     * time after libuv's own update, and a clock read through libuv costs
     * more than this test. */
    if (uv_now(uv) != (MONO_BASE + elapsed_of(c)) / MS)
      uv_update_time(uv);
    int64_t timeout = backend_timeout(uv);
    if (timeout != 0 && poll_now(uv, &ready, 1, NULL) == 0)
      return timeout < 0 ? NONE : deadline_of(uv, (uint64_t)timeout);
  }
}

/* The check handles of the loop are the core's (which the core leaves
 * idle when it has no immediate); the one found last is remembered. */
static bool only_core_checks(vclock *c, uv_loop_t *uv) {
  for (const char *q = queue_next(&uv->check_handles); q != (const char *)&uv->check_handles; q = queue_next(q)) {
    const uv_handle_t *check = (const uv_handle_t *)(q - offsetof(uv_check_t, queue));
    if (check != c->core_check && !cw_loop_owns_handle(c->h->loop, check))
      return false;
    c->core_check = check;
  }
  return true;
}

/* quiet, within one timers phase: a handle leaves the loop's queue only in
 * a closing phase, a turn away, so while its last handle is the one seen
 * last time, no handle came, and none is a waker. */
static bool quiet_in_phase(vclock *c, uv_loop_t *uv) {
  const void *tail = ((void *const *)&uv->handle_queue)[1];
  if (!quiet_fds(uv))
    return false;
  if (tail != c->quiet_tail) {
    if (!no_user_waker(uv))
      return false;
    c->quiet_tail = tail;
  }
  return true;
}

/* The core's timers phase, its next timeout due at loop_ms: when nothing
 * else of the loop would run before then, the turns up to it would only
 * move the clock, so the phase moves it there itself and goes on (the core
 * has checked it has no immediate). Nothing else: no uv_timer_t of the
 * loop armed (the core's own is out of libuv's heap while it runs), no
 * close or pending callback, no idle or prepare handle, no check handle
 * but the core's, and no fd that can be ready or is to be watched (quiet:
 * a watcher started is counted in nfds at once). Each deadline so reached
 * counts as a jump, within run_until's limits. */
static bool advance_timers(void *arg, uint64_t loop_ms) {
  vclock *c = arg;
  uv_loop_t *uv = c->uv;
  uint64_t t = virtual_of_loop_ms(loop_ms);
  if (t > c->drive_limit || c->jumps >= c->drive_max_jumps || uv->timer_heap.nelts || uv->closing_handles ||
      !queue_empty(&uv->pending_queue) || !queue_empty(&uv->idle_handles) || !queue_empty(&uv->prepare_handles) ||
      !only_core_checks(c, uv) || !quiet_in_phase(c, uv) || !note_jump(c))
    return false;
  jump_to(c, t);
  /* What uv_update_time would read now, without the read: loop_ms, or
   * later when a callback slept past it, and then every list due by then
   * runs in this pass, as in the next turn's. */
  uv->time = (MONO_BASE + atomic_load_explicit(&c->elapsed, memory_order_relaxed)) / MS; /* we write it */
  return true;
}

/* Runs the loop on virtual time until limit (NONE: until no timer is left)
 * or max_jumps timer deadlines: what is runnable now, then a jump to the
 * next deadline, or, while real work is outstanding, a real wait for it. */
static void run_until(vclock *c, uint64_t limit, size_t max_jumps) {
  uv_loop_t *uv = cw_loop_uv(c->h->loop);
  c->drive_limit = limit;
  c->drive_max_jumps = max_jumps;
  c->uv = uv;
  c->core_check = NULL; /* of this loop: the clock outlives harnesses */
  /* Not while shuffling (a turn may take a ms), in real time, nor from
   * another thread. */
  if (!shuffling(c) && !c->h->opts.real_time && on_harness_thread(c))
    cw_loop_set_timer_advance(c->h->loop, advance_timers, c);
  uint64_t due = settle(c);
  while (!c->tripped && c->jumps < max_jumps) {
    if (real_work_pending(uv)) {
      uint64_t stop = due < limit ? due : limit;
      if (stop != NONE && elapsed_of(c) >= stop)
        break;
      struct epoll_event ready;
      wait_real(c, uv_backend_fd(uv), &ready, 1, stop, NULL); /* level-triggered: libuv sees it again */
      if (due != NONE && elapsed_of(c) >= due && !note_jump(c))
        break;
    } else {
      if (due == NONE || due > limit || !note_jump(c))
        break;
      jump_to(c, due);
    }
    due = settle(c);
  }
  cw_loop_set_timer_advance(c->h->loop, NULL, NULL);
}

/* sinon's tick: everything due until target fires, in order, timers created
 * meanwhile included; then the clock stands at target. */
static void advance_to(vclock *c, uint64_t target) {
  run_until(c, target, SIZE_MAX);
  if (!c->tripped) {
    jump_to(c, target);
    settle(c);
  }
}

uint64_t cw_clock_now(cw_harness *h) { return h && h->clock ? elapsed_of(h->clock) / MS : 0; }

uint64_t clock_now_ns(const cw_harness *h) { return elapsed_of(h->clock); }

uint64_t clock_of_loop_ms(const cw_harness *h, uint64_t loop_ms) {
  (void)h;
  return virtual_of_loop_ms(loop_ms);
}

void cw_clock_advance(cw_harness *h, uint64_t ms) {
  vclock *c = control_begin(h, "cw_clock_advance");
  if (!c)
    return;
  advance_to(c, later(elapsed_of(c), ms < NONE / MS ? ms * MS : NONE));
  c->controlling = false;
}

bool cw_clock_next(cw_harness *h) {
  vclock *c = control_begin(h, "cw_clock_next");
  if (!c)
    return false;
  run_until(c, NONE, 1);
  c->controlling = false;
  return c->jumps == 1;
}

size_t cw_clock_run_all(cw_harness *h) {
  vclock *c = control_begin(h, "cw_clock_run_all");
  if (!c)
    return 0;
  run_until(c, NONE, SIZE_MAX);
  c->controlling = false;
  return c->jumps;
}

static void keep_latest(void *arg, const cw_timer_info *t) {
  uint64_t *latest = arg;
  if (t->due && virtual_of_loop_ms(t->due) > *latest)
    *latest = virtual_of_loop_ms(t->due);
}

size_t cw_clock_run_pending(cw_harness *h) {
  vclock *c = control_begin(h, "cw_clock_run_pending");
  if (!c)
    return 0;
  uint64_t latest = elapsed_of(c);
  each_timer(h, keep_latest, &latest);
  advance_to(c, latest);
  c->controlling = false;
  return c->jumps;
}

size_t cw_clock_timer_count(cw_harness *h) { return h && h->loop ? each_timer(h, NULL, NULL) : 0; }

void cw_clock_set_system_time(cw_harness *h, int64_t unix_ms) {
  vclock *c = h ? h->clock : NULL;
  if (!c)
    return;
  if (!on_harness_thread(c)) {
    FAIL(h, "cw_clock_set_system_time called from another thread than the harness's");
    return;
  }
  write_begin(c);
  atomic_store_explicit(&c->wall_base, unix_ms * (int64_t)MS - (int64_t)elapsed_of(c), memory_order_relaxed);
  write_end(c);
}
