/* clockwork core: a Node.js-exact event loop on libuv.
 *
 * nextTick and microtask queues, timers and immediates, and promises with
 * ECMA-262 job semantics. Node.js 20 is the oracle for ordering: after every
 * macrotask (one libuv callback, or the main function given to cw_run) the
 * nextTick queue and then the microtask queue are drained, repeatedly, before
 * unhandled rejections are reported.
 *
 * Ownership: every function returning a cw_promise * hands the caller one
 * reference; every function taking one consumes the reference passed
 * (cw_ref makes another). A reference still held when the loop is freed is a
 * floating promise and is reported with the file and line where it was
 * created. Misuse (settling twice, a released or stale handle, a NULL
 * argument) is reported with the caller's file and line and the call is
 * ignored: never undefined behaviour. Handles (promises, timers) are checked
 * against the loop's memory, so they must not outlive their loop: using one
 * after cw_loop_free is the one misuse that cannot be caught.
 *
 * The functions that take a promise or create one are macros over *_at
 * variants that add the caller's file and line; wrappers of their own can
 * call the *_at variants to pass their caller's site on. */
#ifndef CLOCKWORK_CORE_H
#define CLOCKWORK_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define CW_EXTERN __attribute__((visibility("default")))
#else
#define CW_EXTERN
#endif

/* The caller's site, passed to the *_at variants by the macros below. */
#define CW_HERE __FILE__, __LINE__

typedef struct cw_loop cw_loop;
typedef struct cw_promise cw_promise;
typedef struct cw_timer cw_timer;
typedef void (*cw_fn)(void *arg);

typedef enum { CW_PENDING, CW_FULFILLED, CW_REJECTED } cw_state;

typedef struct cw_result {
  cw_state state;      /* CW_FULFILLED or CW_REJECTED once settled */
  void *value;         /* fulfilment value, never freed by clockwork */
  int error;           /* rejection: a negative libuv/errno code (UV_ETIMEDOUT…), never 0 */
  cw_promise *follow;  /* handler returns only: settle like this promise (consumed) */
} cw_result;

typedef cw_result (*cw_handler)(void *arg, cw_result in);
typedef cw_result (*cw_task_fn)(void *arg);

/* Error codes of clockwork's own, outside libuv's range (libuv uses -1..-4095). */
#define CW_EAGGREGATE (-7001) /* cw_any: every input promise rejected */
#define CW_EUNHANDLED (-7002) /* cw_run: stopped on an unhandled rejection */
#define CW_EMISUSE    (-7003) /* cw_run: the API was misused during the run */
#define CW_ECYCLE     (-7004) /* a promise was resolved with itself */
#define CW_ELIMIT     (-7006) /* cw_run: a loop guard stopped a run that would not end */

/* The name of an error code ("UV_ETIMEDOUT", "CW_EAGGREGATE") and its message. */
CW_EXTERN const char *cw_err_name(int error);
CW_EXTERN const char *cw_strerror(int error);

/* Handler results: fulfil with value, reject with a negative error code, or
 * settle like p (consumed; costs two extra jobs, as returning a promise from a
 * JavaScript handler does). */
CW_EXTERN cw_result cw_ok(void *value);
CW_EXTERN cw_result cw_err(int error);
CW_EXTERN cw_result cw_follow(cw_promise *p);

/* ---- the loop ---------------------------------------------------------- */

/* A loop that owns its uv_loop_t; NULL when out of memory. */
CW_EXTERN cw_loop *cw_loop_new(void);
/* A loop that runs on uv, which the caller owns. After cw_loop_free, one
 * more uv_run(uv, UV_RUN_NOWAIT) lets libuv finish closing clockwork's
 * handles; then uv_loop_close(uv) succeeds. */
CW_EXTERN cw_loop *cw_loop_wrap(uv_loop_t *uv);
CW_EXTERN uv_loop_t *cw_loop_uv(cw_loop *loop);
/* Runs main (may be NULL) as the first macrotask, drains, then runs the loop
 * until no work is left. Returns 0, CW_EUNHANDLED when it stopped on an
 * unhandled rejection, CW_ELIMIT when the loop guard stopped it, or
 * CW_EMISUSE when misuse was reported during the run. */
#define cw_run(loop, main, arg) cw_run_at(loop, main, arg, CW_HERE)
CW_EXTERN int cw_run_at(cw_loop *loop, cw_fn main, void *arg, const char *file, int line);
/* Frees the loop and everything it owns; reports each floating promise
 * first, as a misuse at the site that created it. A loop keeps the memory
 * of its timers, promises and tasks for reuse until then: its footprint is
 * that of its busiest moment. */
CW_EXTERN void cw_loop_free(cw_loop *loop);

/* The phase the loop is in: which kind of macrotask is running, or which
 * queue is being drained after it. */
typedef enum {
  CW_PHASE_NONE,      /* not inside a callback */
  CW_PHASE_MAIN,      /* the main function given to cw_run */
  CW_PHASE_TIMERS,
  CW_PHASE_PENDING,
  CW_PHASE_POLL,      /* I/O completions */
  CW_PHASE_CHECK,     /* immediates */
  CW_PHASE_CLOSE,
  CW_PHASE_TICK,      /* draining the nextTick queue */
  CW_PHASE_MICROTASK  /* draining the microtask queue */
} cw_phase;
CW_EXTERN cw_phase cw_loop_phase(const cw_loop *loop);
CW_EXTERN const char *cw_phase_name(cw_phase phase);

/* The loop guard: a drain that runs more than max_jobs jobs (0: no limit,
 * the default) stops the run with CW_ELIMIT and a report naming the
 * callbacks still queued; the report stays readable until the loop is freed. */
CW_EXTERN void cw_loop_set_job_limit(cw_loop *loop, size_t max_jobs);
CW_EXTERN const char *cw_loop_guard_message(const cw_loop *loop);
/* Macrotasks begun so far: two trace entries with the same count ran in the
 * same macrotask or its drain. */
CW_EXTERN uint64_t cw_loop_macrotask_count(const cw_loop *loop);
/* Whether handle is one of the loop's own (clockwork's timer, check, idle). */
CW_EXTERN bool cw_loop_owns_handle(const cw_loop *loop, const uv_handle_t *handle);
/* For a virtual clock: in the timers phase, when the next timeout is due at
 * loop_ms (uv_now's scale), later than now, and the loop has no immediate,
 * fn may move the clock and the loop's time (uv_now) to that time and
 * return true; the phase then goes on as the next turn's timers phase
 * would, the turns between doing nothing. fn checks that the rest of the
 * loop (other handles, requests, fds) would do nothing either. NULL (the
 * default): turns as usual. */
typedef bool (*cw_timer_advance_fn)(void *arg, uint64_t loop_ms);
CW_EXTERN void cw_loop_set_timer_advance(cw_loop *loop, cw_timer_advance_fn fn, void *arg);

/* Brackets a libuv callback of your own as a macrotask of the given phase:
 * cw_macrotask_end drains the queues as the core does after its own
 * callbacks. Nested brackets drain only at the outermost end. */
#define cw_macrotask_begin(loop, phase) cw_macrotask_begin_at(loop, phase, CW_HERE)
#define cw_macrotask_end(loop) cw_macrotask_end_at(loop, CW_HERE)
CW_EXTERN void cw_macrotask_begin_at(cw_loop *loop, cw_phase phase, const char *file, int line);
CW_EXTERN void cw_macrotask_end_at(cw_loop *loop, const char *file, int line);

/* ---- the macrotask hook ------------------------------------------------ */

/* One outermost macrotask, once its callback and its drain are done. */
typedef struct cw_macrotask_info {
  cw_phase phase;
  cw_fn callback;    /* the timer's, the immediate's or cw_run's main function; NULL for
                        I/O completions and brackets of one's own */
  const char *file;  /* where the timer was set, the operation started, cw_run or the bracket called */
  int line;
  uint64_t start_ns; /* CLOCK_MONOTONIC_RAW (wall time, even under the harness): */
  uint64_t end_ns;   /* the callback's start and the drain's end */
} cw_macrotask_info;
typedef void (*cw_macrotask_fn)(void *arg, const cw_macrotask_info *info);

/* Calls fn(arg, info) after every outermost macrotask of loop, replacing
 * the hook set before; NULL fn removes it. Without a hook no clock is read. */
CW_EXTERN void cw_on_macrotask(cw_loop *loop, cw_macrotask_fn fn, void *arg);

/* ---- queues and timers ------------------------------------------------- */

/* process.nextTick: runs before the microtask queue when the queues drain. */
#define cw_next_tick(loop, fn, arg) cw_next_tick_at(loop, fn, arg, CW_HERE)
CW_EXTERN void cw_next_tick_at(cw_loop *loop, cw_fn fn, void *arg, const char *file, int line);
/* queueMicrotask: a job on the microtask queue, beside promise reactions. */
#define cw_queue_microtask(loop, fn, arg) cw_queue_microtask_at(loop, fn, arg, CW_HERE)
CW_EXTERN void cw_queue_microtask_at(cw_loop *loop, cw_fn fn, void *arg, const char *file, int line);

/* setTimeout / setInterval (a delay below 1 ms is 1 ms) and setImmediate.
 * The handle stays valid for cw_clear after the timer fired. */
#define cw_set_timeout(loop, ms, fn, arg) cw_set_timeout_at(loop, ms, fn, arg, CW_HERE)
#define cw_set_interval(loop, ms, fn, arg) cw_set_interval_at(loop, ms, fn, arg, CW_HERE)
#define cw_set_immediate(loop, fn, arg) cw_set_immediate_at(loop, fn, arg, CW_HERE)
CW_EXTERN cw_timer *cw_set_timeout_at(cw_loop *loop, uint64_t ms, cw_fn fn, void *arg, const char *file, int line);
CW_EXTERN cw_timer *cw_set_interval_at(cw_loop *loop, uint64_t ms, cw_fn fn, void *arg, const char *file, int line);
CW_EXTERN cw_timer *cw_set_immediate_at(cw_loop *loop, cw_fn fn, void *arg, const char *file, int line);
/* Cancels a timeout, interval or immediate; a no-op on NULL, a fired
 * timeout or a timer already cleared. */
CW_EXTERN void cw_clear(cw_timer *timer);
/* Node's timer.unref() and ref(): an unref'ed timeout or interval does not
 * keep cw_run going (it still fires if the loop runs for other work). No-ops
 * on NULL, immediates and timers no longer armed. */
CW_EXTERN void cw_timer_unref(cw_timer *timer);
CW_EXTERN void cw_timer_ref(cw_timer *timer);
/* Timers, intervals and immediates still armed; fn (may be NULL) sees each. */
typedef struct cw_timer_info {
  const char *kind; /* "timeout", "interval" or "immediate" */
  cw_fn fn;
  void *arg;
  uint64_t due;     /* loop time (uv_now) it is due at; 0 for immediates */
  const char *file; /* created at */
  int line;
} cw_timer_info;
typedef void (*cw_timer_visit_fn)(void *arg, const cw_timer_info *timer);
CW_EXTERN size_t cw_loop_timers(cw_loop *loop, cw_timer_visit_fn fn, void *arg);

/* ---- promises ---------------------------------------------------------- */

#define cw_promise_new(loop) cw_promise_new_at(loop, CW_HERE)
#define cw_resolved(loop, value) cw_resolved_at(loop, value, CW_HERE)
#define cw_rejected(loop, error) cw_rejected_at(loop, error, CW_HERE)
#define cw_resolve(p, value) cw_resolve_at(p, value, CW_HERE)
#define cw_resolve_with(p, source) cw_resolve_with_at(p, source, CW_HERE)
#define cw_reject(p, error) cw_reject_at(p, error, CW_HERE)
#define cw_then(p, on_ok, on_err, arg) cw_then_at(p, on_ok, on_err, arg, CW_HERE)
#define cw_catch(p, on_err, arg) cw_then_at(p, NULL, on_err, arg, CW_HERE)
#define cw_finally(p, fn, arg) cw_finally_at(p, fn, arg, CW_HERE)
#define cw_all(loop, ps, n, values_out) cw_all_at(loop, ps, n, values_out, CW_HERE)
#define cw_all_settled(loop, ps, n, results_out) cw_all_settled_at(loop, ps, n, results_out, CW_HERE)
#define cw_race(loop, ps, n) cw_race_at(loop, ps, n, CW_HERE)
#define cw_any(loop, ps, n) cw_any_at(loop, ps, n, CW_HERE)
#define cw_ref(p) cw_ref_at(p, CW_HERE)
#define cw_release(p) cw_release_at(p, CW_HERE)
#define cw_detach(p) cw_detach_at(p, CW_HERE)
#define cw_promise_state(p) cw_promise_state_at(p, CW_HERE)
#define cw_promise_result(p) cw_promise_result_at(p, CW_HERE)

/* A pending promise, settled later with cw_resolve, cw_resolve_with or cw_reject. */
CW_EXTERN cw_promise *cw_promise_new_at(cw_loop *loop, const char *file, int line);
/* Promise.resolve(value) and Promise.reject(error): already settled. */
CW_EXTERN cw_promise *cw_resolved_at(cw_loop *loop, void *value, const char *file, int line);
CW_EXTERN cw_promise *cw_rejected_at(cw_loop *loop, int error, const char *file, int line);
/* Settle p (consumed). Settling a promise already resolved is misuse.
 * cw_resolve_with makes p follow source (consumed) as resolve(promise) does
 * in JavaScript: two extra jobs, the thenable job and the then. */
CW_EXTERN void cw_resolve_at(cw_promise *p, void *value, const char *file, int line);
CW_EXTERN void cw_resolve_with_at(cw_promise *p, cw_promise *source, const char *file, int line);
CW_EXTERN void cw_reject_at(cw_promise *p, int error, const char *file, int line);
/* p.then(on_ok, on_err): p is consumed; a NULL handler passes the result on.
 * Handlers run in a microtask job, never synchronously, at most once. */
CW_EXTERN cw_promise *cw_then_at(cw_promise *p, cw_handler on_ok, cw_handler on_err, void *arg,
                                 const char *file, int line);
/* p.finally(fn): fn runs either way; the result settles like p's, three jobs later as in V8. */
CW_EXTERN cw_promise *cw_finally_at(cw_promise *p, cw_fn fn, void *arg, const char *file, int line);

/* Promise.all / allSettled / race / any over n promises, each consumed.
 * values_out[i] / results_out[i] (may be NULL) are filled as inputs settle
 * and must live until the combined promise settles. cw_all fulfils with
 * values_out, cw_all_settled with results_out; cw_any rejects with
 * CW_EAGGREGATE when every input rejected (and at once when n is 0);
 * cw_race over no promises stays pending forever, as in JavaScript. */
CW_EXTERN cw_promise *cw_all_at(cw_loop *loop, cw_promise **ps, size_t n, void **values_out,
                                const char *file, int line);
CW_EXTERN cw_promise *cw_all_settled_at(cw_loop *loop, cw_promise **ps, size_t n, cw_result *results_out,
                                        const char *file, int line);
CW_EXTERN cw_promise *cw_race_at(cw_loop *loop, cw_promise **ps, size_t n, const char *file, int line);
CW_EXTERN cw_promise *cw_any_at(cw_loop *loop, cw_promise **ps, size_t n, const char *file, int line);

/* Another reference to p (p itself is not consumed). */
CW_EXTERN cw_promise *cw_ref_at(cw_promise *p, const char *file, int line);
/* Drop a reference. cw_detach says it is on purpose ("void p"): neither
 * reports a floating promise, and neither handles a rejection. */
CW_EXTERN void cw_release_at(cw_promise *p, const char *file, int line);
CW_EXTERN void cw_detach_at(cw_promise *p, const char *file, int line);
/* The loop p belongs to (p is not consumed); NULL after a misuse report. */
#define cw_promise_loop(p) cw_promise_loop_at(p, CW_HERE)
CW_EXTERN cw_loop *cw_promise_loop_at(const cw_promise *p, const char *file, int line);
/* Inspect p without consuming it. */
CW_EXTERN cw_state cw_promise_state_at(const cw_promise *p, const char *file, int line);
CW_EXTERN cw_result cw_promise_result_at(const cw_promise *p, const char *file, int line);

/* Promise references still held; fn (may be NULL) sees each one's creation
 * site and reference count. cw_loop_free reports these as misuse. */
typedef void (*cw_floating_fn)(void *arg, const char *file, int line, cw_state state, unsigned refs);
CW_EXTERN size_t cw_loop_floating(cw_loop *loop, cw_floating_fn fn, void *arg);

/* ---- tasks: async functions ---------------------------------------------- */

#define cw_spawn(loop, fn, arg) cw_spawn_at(loop, fn, arg, CW_HERE)
#define cw_await(p) cw_await_at(p, CW_HERE)
/* Runs fn(arg) as a task, at once, up to its first cw_await, on a stack of
 * its own; the promise settles with what fn returns (cw_follow(p): like p,
 * two jobs later, as an async function returning a promise). */
CW_EXTERN cw_promise *cw_spawn_at(cw_loop *loop, cw_task_fn fn, void *arg, const char *file, int line);
/* Inside a task: suspends it until p (consumed) settles, then returns its
 * result. Resumes in one job, as await in V8. Outside a task: misuse. */
CW_EXTERN cw_result cw_await_at(cw_promise *p, const char *file, int line);
/* Whether the caller runs inside a task. */
CW_EXTERN bool cw_in_task(void);
/* Stack size of the loop's tasks (0: 256 KiB), rounded up to pages; a guard
 * page below each turns an overflow into a report naming the task's function.
 * UV_EBUSY while tasks are alive. */
CW_EXTERN int cw_loop_set_stack_size(cw_loop *loop, size_t bytes);
/* Tasks alive (suspended at an await); fn (may be NULL) sees where each was
 * spawned and where it waits. */
typedef void (*cw_task_visit_fn)(void *arg, const char *spawned_file, int spawned_line, const char *await_file,
                                 int await_line);
CW_EXTERN size_t cw_loop_tasks(cw_loop *loop, cw_task_visit_fn fn, void *arg);

/* ---- reports ----------------------------------------------------------- */

/* An unhandled rejection (handled_late false), or the notice that a handler
 * was attached to a rejection already reported (handled_late true). */
typedef struct cw_rejection {
  int error;
  bool handled_late;
  const char *created_file;   /* where the promise was created */
  int created_line;
  const char *rejected_file;  /* where it was rejected */
  int rejected_line;
  const char *handler_file;   /* handled late: where the handler was attached */
  int handler_line;
} cw_rejection;
typedef void (*cw_rejection_fn)(void *arg, const cw_rejection *r);
/* Takes the reports instead of the default (print to stderr; on an unhandled
 * rejection, stop: cw_run returns CW_EUNHANDLED). NULL restores the default. */
CW_EXTERN void cw_on_unhandled(cw_loop *loop, cw_rejection_fn fn, void *arg);

/* A misuse of the API: the function, what was wrong, and the caller's site. */
typedef struct cw_misuse {
  const char *function;
  const char *message;
  const char *file;
  int line;
} cw_misuse;
typedef void (*cw_misuse_fn)(void *arg, const cw_misuse *m);
/* Process-wide (a NULL handle has no loop): takes misuse reports instead of
 * printing them to stderr. NULL restores the default. */
CW_EXTERN void cw_on_misuse(cw_misuse_fn fn, void *arg);
/* Misuse reports so far in this process. */
CW_EXTERN unsigned long cw_misuse_count(void);

#ifdef __cplusplus
}
#endif
#endif
