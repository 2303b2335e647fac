/* Time: a sleep that a signal can cut short, and a timeout around a promise.
 * Both clear their timer as soon as it is not needed, so that a loop with
 * nothing else to do ends at once instead of waiting for a dead deadline. */
#include "toolkit_internal.h"

#include <stdlib.h>

/* ---- sleep ------------------------------------------------------------------ */

typedef struct sleeper {
  cw_promise *out;
  cw_timer *timer;
  cw_signal *signal;
  uint64_t listener;
  const char *file;
  int line;
} sleeper;

static void sleep_done(void *arg) {
  sleeper *z = arg;
  if (z->signal)
    cw_signal_off(z->signal, z->listener);
  cw_resolve_at(z->out, NULL, z->file, z->line);
  free(z);
}

static void sleep_aborted(void *arg) {
  sleeper *z = arg;
  cw_clear(z->timer);
  cw_reject_at(z->out, cw_signal_reason(z->signal), z->file, z->line);
  free(z);
}

cw_promise *cw_sleep_at(cw_loop *loop, uint64_t ms, cw_signal *s, const char *file, int line) {
  if (!loop) {
    misuse(NULL, "cw_sleep", file, line, "the loop is NULL");
    return NULL;
  }
  if (cw_signal_aborted(s))
    return cw_rejected_at(loop, cw_signal_reason(s), file, line);
  sleeper *z = xmalloc(sizeof *z);
  cw_promise *p = deferred(loop, &z->out, file, line);
  z->timer = cw_set_timeout_at(loop, ms, sleep_done, z, file, line);
  z->signal = s;
  z->listener = s ? cw_signal_on(s, sleep_aborted, z) : 0;
  z->file = file;
  z->line = line;
  return p;
}

/* ---- timeout ------------------------------------------------------------- */

/* Lives until the promise it watches settles; out is NULL once settled. */
typedef struct deadline {
  cw_promise *out;
  cw_timer *timer;
  const char *file;
  int line;
} deadline;

static void deadline_passed(void *arg) {
  deadline *d = arg;
  d->timer = NULL;
  cw_reject_at(d->out, UV_ETIMEDOUT, d->file, d->line);
  d->out = NULL;
}

static cw_result watched_settled(void *arg, cw_result in) {
  deadline *d = arg;
  if (d->out) {
    cw_clear(d->timer);
    settle(d->out, in, d->file, d->line);
  }
  free(d);
  return cw_ok(NULL);
}

cw_promise *cw_timeout_at(cw_promise *p, uint64_t ms, const char *file, int line) {
  cw_loop *loop = promise_loop(p, "cw_timeout", file, line);
  if (!loop)
    return NULL;
  deadline *d = xmalloc(sizeof *d);
  cw_promise *out = deferred(loop, &d->out, file, line);
  d->timer = cw_set_timeout_at(loop, ms, deadline_passed, d, file, line);
  d->file = file;
  d->line = line;
  observe(p, watched_settled, d, file, line);
  return out;
}

/* ---- abortable ------------------------------------------------------------ */

/* Lives until the promise it guards settles; out is NULL once settled. */
typedef struct guard {
  cw_promise *out;
  cw_signal *signal;
  uint64_t listener; /* 0 once the signal fired */
  const char *file;
  int line;
} guard;

static void guard_aborted(void *arg) {
  guard *g = arg;
  g->listener = 0;
  cw_reject_at(g->out, cw_signal_reason(g->signal), g->file, g->line);
  g->out = NULL;
}

static cw_result guarded_settled(void *arg, cw_result in) {
  guard *g = arg;
  if (g->listener)
    cw_signal_off(g->signal, g->listener);
  if (g->out)
    settle(g->out, in, g->file, g->line);
  free(g);
  return cw_ok(NULL);
}

cw_promise *cw_abortable_at(cw_promise *p, cw_signal *s, const char *file, int line) {
  cw_loop *loop = promise_loop(p, "cw_abortable", file, line);
  if (!loop || !s)
    return loop ? p : NULL;
  guard *g = xmalloc(sizeof *g);
  cw_promise *out = deferred(loop, &g->out, file, line);
  g->signal = s;
  g->file = file;
  g->line = line;
  g->listener = 0;
  observe(p, guarded_settled, g, file, line);
  /* an aborted signal calls guard_aborted at once, which clears listener */
  uint64_t id = cw_signal_on(s, guard_aborted, g);
  if (!cw_signal_aborted(s))
    g->listener = id;
  return out;
}
