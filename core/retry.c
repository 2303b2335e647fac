/* Retry with exponential backoff and jitter: attempts one after another,
 * a wait on a loop timer between two. Jitter draws from the loop's seeded
 * generator, and only when asked for, so a seed names the delays. */
#include "toolkit_internal.h"

#include <stdlib.h>

/* The largest delay kept exact in a double and a uint64_t. */
#define DELAY_LIMIT 0x1p52

typedef struct retry_state {
  cw_loop *loop;
  cw_start_fn fn;
  void *arg;
  cw_retry_opts o;
  cw_promise *out;
  cw_timer *timer;   /* while waiting between attempts */
  uint64_t listener; /* 0 once the signal fired */
  int aborted;       /* the reason of an abort during an attempt */
  unsigned attempt;  /* attempts started */
  double delay;      /* the next delay before jitter: base_ms * factor^k, capped */
  double cap;
  const char *file;
  int line;
} retry_state;

static void finish(retry_state *r, cw_result res) {
  if (r->listener)
    cw_signal_off(r->o.signal, r->listener);
  settle(r->out, res, r->file, r->line);
  free(r);
}

static uint64_t next_delay(retry_state *r) {
  double d = r->delay;
  r->delay = r->delay * r->o.factor < r->cap ? r->delay * r->o.factor : r->cap;
  if (r->o.jitter > 0)
    d *= 1 - r->o.jitter * cw_random_unit(r->loop);
  return (uint64_t)d;
}

static cw_result attempt_settled(void *arg, cw_result in);

static void attempt(void *arg) {
  retry_state *r = arg;
  r->timer = NULL;
  r->attempt++;
  cw_promise *p = started(r->loop, r->fn(r->arg), "cw_retry", r->file, r->line);
  observe(p, attempt_settled, r, r->file, r->line);
}

static cw_result attempt_settled(void *arg, cw_result in) {
  retry_state *r = arg;
  bool again = in.state == CW_REJECTED && r->attempt < r->o.attempts && in.error != CW_EMISUSE &&
               (!r->o.retryable || r->o.retryable(r->arg, in.error));
  if (r->aborted) /* checked after retryable, which may abort */
    finish(r, cw_err(r->aborted));
  else if (!again)
    finish(r, in);
  else {
    uint64_t delay = next_delay(r);
    if (r->o.on_retry)
      r->o.on_retry(r->arg, r->attempt, in.error, delay);
    if (r->aborted) /* by on_retry */
      finish(r, cw_err(r->aborted));
    else
      r->timer = cw_set_timeout_at(r->loop, delay, attempt, r, r->file, r->line);
  }
  return cw_ok(NULL);
}

static void retry_aborted(void *arg) {
  retry_state *r = arg;
  r->listener = 0;
  r->aborted = cw_signal_reason(r->o.signal);
  if (r->timer) {
    cw_clear(r->timer);
    finish(r, cw_err(r->aborted));
  }
}

/* opts with the defaults filled in; out-of-range values are misuse. */
static cw_retry_opts with_defaults(cw_loop *loop, const cw_retry_opts *opts, const char *file, int line) {
  cw_retry_opts o = opts ? *opts : (cw_retry_opts){0};
  if (!o.attempts)
    o.attempts = 3;
  if (!o.base_ms)
    o.base_ms = 100;
  if (!(o.factor >= 0)) {
    misuse(loop, "cw_retry", file, line, "factor %g is negative", o.factor);
    o.factor = 0;
  }
  if (!o.factor)
    o.factor = 2;
  if (!(o.jitter >= 0 && o.jitter <= 1)) {
    misuse(loop, "cw_retry", file, line, "jitter %g is outside [0, 1]", o.jitter);
    o.jitter = 0;
  }
  return o;
}

cw_promise *cw_retry_at(cw_loop *loop, cw_start_fn fn, void *arg, const cw_retry_opts *opts, const char *file,
                        int line) {
  if (!loop || !fn) {
    misuse(loop, "cw_retry", file, line, "the %s is NULL", loop ? "function" : "loop");
    return NULL;
  }
  cw_retry_opts o = with_defaults(loop, opts, file, line);
  if (cw_signal_aborted(o.signal))
    return cw_rejected_at(loop, cw_signal_reason(o.signal), file, line);
  retry_state *r = xmalloc(sizeof *r);
  cw_promise *out = deferred(loop, &r->out, file, line);
  r->loop = loop;
  r->fn = fn;
  r->arg = arg;
  r->o = o;
  r->timer = NULL;
  r->aborted = 0;
  r->attempt = 0;
  r->cap = o.max_ms && (double)o.max_ms < DELAY_LIMIT ? (double)o.max_ms : DELAY_LIMIT;
  r->delay = (double)o.base_ms < r->cap ? (double)o.base_ms : r->cap;
  r->file = file;
  r->line = line;
  r->listener = o.signal ? cw_signal_on(o.signal, retry_aborted, r) : 0;
  attempt(r);
  return out;
}
