/* The event-loop blocking detector: a macrotask whose callback and drain
 * take longer than opts.blocking_ms of wall time fails the test, naming
 * the callback, as Node's event loop delay would show it in production. */
#include "harness_internal.h"

#include <stdio.h>

/* What ran, in words: "on_request (a timer callback, phase timers)". */
static const char *describe(const cw_macrotask_info *m, char *buf, size_t size) {
  const char *kind = m->phase == CW_PHASE_MAIN     ? "the main function"
                     : m->phase == CW_PHASE_TIMERS ? "a timer callback"
                     : m->phase == CW_PHASE_CHECK  ? "an immediate"
                     : m->phase == CW_PHASE_POLL   ? "an I/O completion"
                     : m->phase == CW_PHASE_CLOSE  ? "a close callback"
                                                   : "a callback";
  char name[256];
  if (m->callback)
    snprintf(buf, size, "%s (%s, phase %s)", harness_fn_name(m->callback, name, sizeof name), kind,
             cw_phase_name(m->phase));
  else
    snprintf(buf, size, "%s (phase %s)", kind, cw_phase_name(m->phase));
  return buf;
}

static void on_macrotask(void *arg, const cw_macrotask_info *m) {
  cw_harness *h = arg;
  double ms = (double)(m->end_ns - m->start_ns) / 1e6;
  if (ms <= h->opts.blocking_ms)
    return;
  char what[512];
  cw_harness_fail_at(h, m->file, m->line, "event loop blocked for %.1f ms by %s — threshold %.1f ms", ms,
                     describe(m, what, sizeof what), h->opts.blocking_ms);
}

void blocking_install(cw_harness *h) {
  if (h->opts.blocking_ms > 0)
    cw_on_macrotask(h->loop, on_macrotask, h);
}
