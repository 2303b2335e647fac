/* clockwork concurrency toolkit: what the field reaches for when fixing slow
 * or fragile async code — sleep and timeouts, cancellation, bounded
 * concurrency (map, limiter), retry with backoff and jitter, and a circuit
 * breaker. Everything runs on the loop's timers (so the harness's virtual
 * clock drives it) and draws randomness from the loop's seeded generator.
 *
 * Ownership follows core.h: a returned promise is one reference for the
 * caller; a promise passed in is consumed. Objects made here (signals,
 * limiters, breakers) are the caller's to free, after the promises that use
 * them have settled or at any time before: work waiting in them is then
 * rejected with UV_ECANCELED and work running finishes, never left dangling. */
#ifndef CLOCKWORK_CONCURRENCY_H
#define CLOCKWORK_CONCURRENCY_H

#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CW_EOPEN (-7005) /* a circuit breaker is open: the call was not made */

/* Starts one operation and returns its promise (one reference). */
typedef cw_promise *(*cw_start_fn)(void *arg);
/* Starts the operation for element i of a map. */
typedef cw_promise *(*cw_map_fn)(void *arg, size_t i);

/* ---- randomness: one seeded generator per loop ---------------------------- */

/* Seeds the loop's generator (by default seeded from the OS; the harness
 * seeds it from its options or CW_SEED). */
CW_EXTERN void cw_loop_seed(cw_loop *loop, uint64_t seed);
CW_EXTERN uint64_t cw_loop_get_seed(const cw_loop *loop);
/* The next 64 random bits, and a double uniform in [0, 1). */
CW_EXTERN uint64_t cw_random(cw_loop *loop);
CW_EXTERN double cw_random_unit(cw_loop *loop);

/* ---- cancellation: AbortController and AbortSignal in one ----------------- */

typedef struct cw_signal cw_signal;
CW_EXTERN cw_signal *cw_signal_new(cw_loop *loop);
/* A signal that aborts by itself after ms with UV_ETIMEDOUT (AbortSignal.timeout).
 * Its timer keeps the loop running until it fires or s is freed and unused. */
CW_EXTERN cw_signal *cw_signal_timeout(cw_loop *loop, uint64_t ms);
/* Aborts: every operation given s rejects with reason (a negative code;
 * 0 means UV_ECANCELED) and releases what it holds. Aborting twice does nothing. */
CW_EXTERN void cw_signal_abort(cw_signal *s, int reason);
CW_EXTERN bool cw_signal_aborted(const cw_signal *s);
CW_EXTERN int cw_signal_reason(const cw_signal *s); /* 0 while not aborted */
/* Calls fn(arg) once when s aborts (at once if it has): for operations of
 * your own. Returns an id for cw_signal_off, 0 on a NULL argument. A
 * listener keeps s alive until it ran or is removed. */
CW_EXTERN uint64_t cw_signal_on(cw_signal *s, cw_fn fn, void *arg);
CW_EXTERN void cw_signal_off(cw_signal *s, uint64_t id);
/* Frees s; operations still using it keep it alive until they settle. */
CW_EXTERN void cw_signal_free(cw_signal *s);
/* Settles like p (consumed), or rejects with s's reason if s aborts first
 * (at once if it has); p's later settlement is then absorbed. A NULL s
 * returns p itself. */
#define cw_abortable(p, s) cw_abortable_at(p, s, CW_HERE)
CW_EXTERN cw_promise *cw_abortable_at(cw_promise *p, cw_signal *s, const char *file, int line);

/* ---- time ------------------------------------------------------------------ */

/* Fulfils (with NULL) after ms; with a signal, rejects on abort and clears its timer. */
#define cw_sleep(loop, ms) cw_sleep_at(loop, ms, NULL, CW_HERE)
#define cw_sleep_signal(loop, ms, s) cw_sleep_at(loop, ms, s, CW_HERE)
CW_EXTERN cw_promise *cw_sleep_at(cw_loop *loop, uint64_t ms, cw_signal *s, const char *file, int line);
/* Settles like p (consumed) if it settles within ms, else rejects with
 * UV_ETIMEDOUT and absorbs p's later settlement; its timer is cleared when
 * p wins. */
#define cw_timeout(p, ms) cw_timeout_at(p, ms, CW_HERE)
CW_EXTERN cw_promise *cw_timeout_at(cw_promise *p, uint64_t ms, const char *file, int line);

/* ---- bounded concurrency ----------------------------------------------------- */

typedef struct cw_map_opts {
  size_t limit;           /* at most this many in flight; 0: no limit */
  void **values_out;      /* values_out[i]: element i's value (may be NULL) */
  cw_result *results_out; /* results_out[i]: element i's outcome (may be NULL) */
  bool settle_all;        /* run every element and fulfil with results_out, as allSettled */
  cw_signal *signal;      /* abort: start no more, reject with the reason once
                             the elements in flight have settled */
} cw_map_opts;

/* Runs fn(arg, i) for every i < n with at most limit in flight, results in
 * input order. Fail-fast by default: on the first rejection no further
 * element starts, and the promise rejects with that error once the elements
 * already in flight have settled (their values still collected, none left
 * floating). Fulfils with values_out. Output arrays must live until the
 * promise settles; elements never started keep a NULL value and the state
 * CW_PENDING. The first elements start at once, inside the call; n = 0
 * fulfils at once. fn returning NULL is misuse: that element rejects with
 * CW_EMISUSE. opts may be NULL. */
#define cw_map(loop, n, fn, arg, limit, values_out) \
  cw_map_at(loop, n, fn, arg, &(cw_map_opts){(limit), (values_out), NULL, false, NULL}, CW_HERE)
#define cw_map_with(loop, n, fn, arg, opts) cw_map_at(loop, n, fn, arg, opts, CW_HERE)
CW_EXTERN cw_promise *cw_map_at(cw_loop *loop, size_t n, cw_map_fn fn, void *arg, const cw_map_opts *opts,
                                const char *file, int line);

/* A reusable limiter (p-limit): at most limit operations started through it
 * run at once (0: no limit); the others wait in order. */
typedef struct cw_limiter cw_limiter;
CW_EXTERN cw_limiter *cw_limiter_new(cw_loop *loop, size_t limit);
/* Starts fn(arg) when a slot is free (inside the call when one is); the
 * promise settles like fn's. fn returning NULL is misuse: CW_EMISUSE. */
#define cw_limit(l, fn, arg) cw_limit_at(l, fn, arg, CW_HERE)
CW_EXTERN cw_promise *cw_limit_at(cw_limiter *l, cw_start_fn fn, void *arg, const char *file, int line);
CW_EXTERN size_t cw_limiter_active(const cw_limiter *l);  /* running now */
CW_EXTERN size_t cw_limiter_pending(const cw_limiter *l); /* waiting for a slot */
/* Frees l: waiting operations reject with UV_ECANCELED, running ones finish. */
CW_EXTERN void cw_limiter_free(cw_limiter *l);

/* ---- retry with exponential backoff and jitter ---------------------------------- */

typedef struct cw_retry_opts {
  unsigned attempts;  /* attempts in all, the first included; 0: 3 */
  uint64_t base_ms;   /* delay before the second attempt; 0: 100 */
  uint64_t max_ms;    /* cap on any delay; 0: no cap */
  double factor;      /* growth per attempt; 0: 2 */
  double jitter;      /* 0: none; j in (0, 1]: a delay uniform in [computed * (1 - j),
                         computed], so 1 is "full jitter" */
  bool (*retryable)(void *arg, int error); /* NULL: every error is retried */
  cw_signal *signal;  /* abort: no further attempt; reject with the reason at once
                         while waiting, after the attempt in flight settles */
  /* NULL: none. Called before each wait with the attempt that failed
   * (1 for the first), its error, and the delay chosen. */
  void (*on_retry)(void *arg, unsigned attempt, int error, uint64_t delay_ms);
} cw_retry_opts;

/* Calls fn(arg) until its promise fulfils or the attempts run out (then
 * rejects with the last error), sleeping base_ms * factor^k (capped,
 * jittered) between attempts. The first attempt starts inside the call. A
 * CW_EMISUSE rejection (fn returned NULL) is never retried. opts may be NULL. */
#define cw_retry(loop, fn, arg, opts) cw_retry_at(loop, fn, arg, opts, CW_HERE)
CW_EXTERN cw_promise *cw_retry_at(cw_loop *loop, cw_start_fn fn, void *arg, const cw_retry_opts *opts,
                                  const char *file, int line);

/* ---- circuit breaker ----------------------------------------------------------------- */

typedef enum { CW_BREAKER_CLOSED, CW_BREAKER_OPEN, CW_BREAKER_HALF_OPEN } cw_breaker_state;
typedef struct cw_breaker_opts {
  unsigned failure_threshold; /* consecutive failures that open it; 0: 5 */
  uint64_t reset_ms;          /* open for this long, then half-open; 0: 30000 */
  unsigned half_open_max;     /* trial calls let through while half-open; 0: 1 */
} cw_breaker_opts;

typedef struct cw_breaker cw_breaker;
CW_EXTERN cw_breaker *cw_breaker_new(cw_loop *loop, const cw_breaker_opts *opts);
/* Calls fn(arg) unless the breaker is open (then rejects with CW_EOPEN
 * without calling). A trial call's success closes it, its failure re-opens it.
 * An outcome counts only in the state its call started in. The open state
 * ends on the loop clock, checked on each call: no timer is kept. */
#define cw_breaker_call(b, fn, arg) cw_breaker_call_at(b, fn, arg, CW_HERE)
CW_EXTERN cw_promise *cw_breaker_call_at(cw_breaker *b, cw_start_fn fn, void *arg, const char *file, int line);
CW_EXTERN cw_breaker_state cw_breaker_get_state(cw_breaker *b);
/* Frees b; calls in flight still settle like fn's. */
CW_EXTERN void cw_breaker_free(cw_breaker *b);

#ifdef __cplusplus
}
#endif
#endif
