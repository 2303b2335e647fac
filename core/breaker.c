/* A circuit breaker: closed, open after failure_threshold consecutive
 * failures, half-open once reset_ms have passed on the loop clock, where
 * half_open_max trial calls decide. The clock is read on demand instead of
 * arming a timer, so an open breaker does not keep the loop running. */
#include "toolkit_internal.h"

#include <stdlib.h>

struct cw_breaker {
  cw_loop *loop;
  cw_breaker_opts o;
  cw_breaker_state state;
  uint64_t epoch;     /* bumped on every change of state */
  uint64_t opened_at; /* loop time */
  unsigned failures;  /* consecutive, while closed */
  unsigned trials;    /* calls let through in this half-open period */
  size_t calls;       /* in flight */
  bool freed;
};

/* One call in flight: its outcome counts only in the state it started in. */
typedef struct call {
  cw_breaker *b;
  uint64_t epoch;
} call;

static uint64_t now(cw_breaker *b) {
  uv_loop_t *uv = cw_loop_uv(b->loop);
  uv_update_time(uv);
  return uv_now(uv);
}

static void enter(cw_breaker *b, cw_breaker_state state) {
  b->state = state;
  b->epoch++;
  b->failures = b->trials = 0;
  if (state == CW_BREAKER_OPEN)
    b->opened_at = now(b);
}

/* Open long enough: half-open. */
static void refresh(cw_breaker *b) {
  if (b->state == CW_BREAKER_OPEN && now(b) - b->opened_at >= b->o.reset_ms)
    enter(b, CW_BREAKER_HALF_OPEN);
}

static bool usable(const cw_breaker *b, const char *function, const char *file, int line) {
  if (b && !b->freed)
    return true;
  misuse(b ? b->loop : NULL, function, file, line, b ? "the breaker was freed" : "the breaker is NULL");
  return false;
}

cw_breaker *cw_breaker_new(cw_loop *loop, const cw_breaker_opts *opts) {
  if (!loop) {
    misuse(NULL, "cw_breaker_new", NULL, 0, "the loop is NULL");
    return NULL;
  }
  cw_breaker *b = xmalloc(sizeof *b);
  *b = (cw_breaker){.loop = loop, .state = CW_BREAKER_CLOSED};
  b->o = opts ? *opts : (cw_breaker_opts){0};
  if (!b->o.failure_threshold)
    b->o.failure_threshold = 5;
  if (!b->o.reset_ms)
    b->o.reset_ms = 30000;
  if (!b->o.half_open_max)
    b->o.half_open_max = 1;
  return b;
}

static void record(cw_breaker *b, bool ok) {
  if (ok && b->state == CW_BREAKER_HALF_OPEN)
    enter(b, CW_BREAKER_CLOSED);
  else if (ok)
    b->failures = 0;
  else if (b->state == CW_BREAKER_HALF_OPEN || ++b->failures >= b->o.failure_threshold)
    enter(b, CW_BREAKER_OPEN);
}

static cw_result call_settled(void *arg, cw_result in) {
  call *c = arg;
  cw_breaker *b = c->b;
  if (c->epoch == b->epoch)
    record(b, in.state == CW_FULFILLED);
  free(c);
  if (--b->calls == 0 && b->freed)
    free(b);
  return in;
}

cw_promise *cw_breaker_call_at(cw_breaker *b, cw_start_fn fn, void *arg, const char *file, int line) {
  if (!usable(b, "cw_breaker_call", file, line))
    return NULL;
  if (!fn) {
    misuse(b->loop, "cw_breaker_call", file, line, "the function is NULL");
    return NULL;
  }
  refresh(b);
  if (b->state == CW_BREAKER_OPEN || (b->state == CW_BREAKER_HALF_OPEN && b->trials >= b->o.half_open_max))
    return cw_rejected_at(b->loop, CW_EOPEN, file, line);
  if (b->state == CW_BREAKER_HALF_OPEN)
    b->trials++;
  call *c = xmalloc(sizeof *c);
  *c = (call){b, b->epoch};
  b->calls++;
  cw_promise *p = started(b->loop, fn(arg), "cw_breaker_call", file, line);
  return cw_then_at(p, call_settled, call_settled, c, file, line);
}

cw_breaker_state cw_breaker_get_state(cw_breaker *b) {
  if (!usable(b, "cw_breaker_get_state", NULL, 0))
    return CW_BREAKER_CLOSED;
  refresh(b);
  return b->state;
}

void cw_breaker_free(cw_breaker *b) {
  if (!b)
    return;
  if (!usable(b, "cw_breaker_free", NULL, 0))
    return;
  b->freed = true;
  if (!b->calls)
    free(b);
}
