/* clockwork harness: a virtual clock under libuv and the core, control of
 * time, ordering traces and teardown checks, for deterministic suites.
 *
 * While a harness exists, clock_gettime (MONOTONIC, MONOTONIC_COARSE,
 * BOOTTIME, REALTIME, REALTIME_COARSE), gettimeofday and time read a virtual
 * clock on every thread; the sleep calls of the harness's thread return at
 * once after moving it (other threads sleep for real); and epoll_wait on the
 * harness's loop polls without blocking and, when nothing is ready, jumps the
 * clock to the next timer instead of sleeping (other epoll fds poll for
 * real). So plain uv_timer_t code, uv_now, uv_hrtime and the core's timers all
 * run on virtual time. CLOCK_MONOTONIC_RAW stays real (wall-clock probes read
 * it), as do direct vDSO or raw-syscall reads. While real work is outstanding
 * on the loop (threadpool requests, connects, writes, child processes), the
 * clock follows real time, never past the next deadline, so a timeout never
 * fires because of virtual time. The controls (cw_clock_*) are called from
 * the test, not from callbacks.
 *
 * One harness exists at a time in a process. Link programs with the
 * harness library (dependency 'clockwork-harness'); the interposition needs
 * the dynamic linker: static programs are not supported. */
#ifndef CLOCKWORK_HARNESS_H
#define CLOCKWORK_HARNESS_H

#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cw_harness cw_harness;

/* What cw_harness_free may find without failing the test. */
enum {
  CW_ALLOW_UNHANDLED = 1, /* unhandled rejections */
  CW_ALLOW_FLOATING = 2,  /* promise references never consumed */
  CW_ALLOW_TIMERS = 4,    /* timers, intervals, immediates or libuv handles still armed */
  CW_ALLOW_TASKS = 8,     /* tasks still suspended */
  CW_ALLOW_OPEN_FILES = 16, /* descriptors left open on the fake file system */
  CW_ALLOW_UNPLAYED = 32, /* scripted peers' steps left unplayed (fakes.h) */
};

typedef struct cw_harness_opts {
  uint64_t seed;              /* 0: CW_SEED from the environment, else 1 */
  int64_t start_unix_ms;      /* the wall clock (REALTIME) at virtual time 0; 0: 2026-01-01T00:00:00Z */
  size_t max_timer_firings;   /* loop guard of run_all and cw_harness_run; 0: 100000 */
  size_t max_jobs_per_drain;  /* loop guard of one drain; 0: 10000000 */
  bool shuffle;               /* let 0 or 1 ms pass at random at each poll, seeded, so that code
                                 relying on an order Node leaves unspecified (a timer against an
                                 immediate) is caught */
  unsigned allow;             /* CW_ALLOW_* */
  bool real_io;               /* keep the real I/O backend; default: the fakes (fakes.h) */
  bool real_time;             /* time passes for real (the fakes' latencies too), as without a
                                 harness: for wall-clock probes (probe.h) */
  double blocking_ms;         /* blocking detector: a macrotask (callback plus drain) taking longer
                                 than this in wall time is a failure naming its callback; 0: off */
  /* Called on every failure with a message that ends with the seed; NULL:
   * print it to stderr and exit(1). A handler that returns lets the test go on. */
  void (*fail)(void *arg, const char *message);
  void *fail_arg;
} cw_harness_opts;

/* A harness and its loop, with the virtual clock at 0. NULL opts: defaults. */
CW_EXTERN cw_harness *cw_harness_new(const cw_harness_opts *opts);
CW_EXTERN cw_loop *cw_harness_loop(cw_harness *h);
/* cw_run on virtual time: runs main, then the loop, jumping the clock
 * whenever the loop would wait, until nothing is left. Returns as cw_run;
 * CW_ELIMIT when a loop guard stopped it (reported as a failure). */
CW_EXTERN int cw_harness_run(cw_harness *h, cw_fn main, void *arg);
/* Teardown: fails the test (unless allowed) on unhandled rejections,
 * floating promises, timers or handles still armed, suspended tasks; adds
 * the trace to $CW_TRACE if set (the first harness of the process truncates
 * it); frees the loop and the harness. */
#define cw_harness_free(h) cw_harness_free_at(h, CW_HERE)
CW_EXTERN void cw_harness_free_at(cw_harness *h, const char *file, int line);
CW_EXTERN uint64_t cw_harness_seed(const cw_harness *h);
/* Failures reported so far. */
CW_EXTERN unsigned cw_harness_failures(const cw_harness *h);
/* Reports a failure of the test through opts.fail, with the seed. */
#define cw_harness_fail(h, ...) cw_harness_fail_at(h, CW_HERE, __VA_ARGS__)
CW_EXTERN void cw_harness_fail_at(cw_harness *h, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* ---- the clock --------------------------------------------------------------- */

CW_EXTERN uint64_t cw_clock_now(cw_harness *h); /* virtual ms since the harness began */
/* Moves the clock ms forward, firing everything due inside the window in
 * order, with the drains between callbacks, timers created meanwhile
 * included (sinon's tick). */
CW_EXTERN void cw_clock_advance(cw_harness *h, uint64_t ms);
/* Jumps to the next timer and fires what is due then; false if there is none. */
CW_EXTERN bool cw_clock_next(cw_harness *h);
/* Fires timers until none is left; returns how many clock jumps that took.
 * Stops (a failure naming the timers that keep re-arming) after
 * max_timer_firings. */
CW_EXTERN size_t cw_clock_run_all(cw_harness *h);
/* Advances to the last deadline pending now, firing what is due until then
 * (sinon's runToLast); returns the jumps made. */
CW_EXTERN size_t cw_clock_run_pending(cw_harness *h);
/* Timers armed: the core's timeouts, intervals and immediates and the
 * loop's own uv_timer_t handles. */
CW_EXTERN size_t cw_clock_timer_count(cw_harness *h);
/* Sets the wall clock (REALTIME, gettimeofday, time) without moving the
 * monotonic clock, as a user changing the system time would. */
CW_EXTERN void cw_clock_set_system_time(cw_harness *h, int64_t unix_ms);

/* ---- ordering traces ----------------------------------------------------------- */

typedef struct cw_trace_entry {
  const char *label;
  uint64_t time_ms;   /* virtual time */
  cw_phase phase;     /* cw_loop_phase when recorded */
  uint64_t macrotask; /* cw_loop_macrotask_count when recorded */
} cw_trace_entry;

/* Records label (copied) with the virtual time, the loop's phase and its
 * macrotask count. Without a harness it does nothing; on another loop or
 * with a NULL label it records nothing and reports a failure. */
#define cw_trace(loop, label) cw_trace_at(loop, label, CW_HERE)
CW_EXTERN void cw_trace_at(cw_loop *loop, const char *label, const char *file, int line);
CW_EXTERN size_t cw_trace_count(const cw_harness *h);
CW_EXTERN const cw_trace_entry *cw_trace_get(const cw_harness *h, size_t i);
CW_EXTERN void cw_trace_clear(cw_harness *h);
/* Writes the trace to path (overwritten) as JSON lines
 * ({"label","time_ms","phase","macrotask"}); 0 or a negative errno. */
CW_EXTERN int cw_trace_write_json(const cw_harness *h, const char *path);

/* Assertions: true when they hold; otherwise a failure showing expected and
 * actual side by side, the first divergence marked, with each entry's time
 * and phase. Labels are separated by spaces. */
#define cw_trace_expect(h, labels) cw_trace_expect_at(h, labels, CW_HERE)
#define cw_trace_before(h, a, b) cw_trace_before_at(h, a, b, CW_HERE)
#define cw_trace_in_phase(h, label, phase) cw_trace_in_phase_at(h, label, phase, CW_HERE)
#define cw_trace_same_macrotask(h, a, b) cw_trace_same_macrotask_at(h, a, b, CW_HERE)
/* The whole trace is exactly labels. */
CW_EXTERN bool cw_trace_expect_at(cw_harness *h, const char *labels, const char *file, int line);
/* a and b were both recorded, and a's first record comes before b's first. */
CW_EXTERN bool cw_trace_before_at(cw_harness *h, const char *a, const char *b, const char *file, int line);
/* label's first record was made in phase. */
CW_EXTERN bool cw_trace_in_phase_at(cw_harness *h, const char *label, cw_phase phase, const char *file, int line);
/* No macrotask ran between a's and b's first records: they ran in one
 * macrotask and its drain. */
CW_EXTERN bool cw_trace_same_macrotask_at(cw_harness *h, const char *a, const char *b, const char *file,
                                          int line);

#ifdef __cplusplus
}
#endif
#endif
