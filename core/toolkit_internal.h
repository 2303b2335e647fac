/* Shared by the files of the concurrency toolkit (signal.c, time.c, map.c,
 * limiter.c, retry.c, breaker.c). The toolkit is built on the public API of
 * core.h, as a user would build it; core_internal.h is reached only for
 * misuse reports and the loop of a promise. */
#ifndef CLOCKWORK_TOOLKIT_INTERNAL_H
#define CLOCKWORK_TOOLKIT_INTERNAL_H

#include "clockwork/concurrency.h"
#include "core_internal.h"

/* A new pending promise: returns the caller's reference and stores in *keep
 * the one the toolkit settles it with. */
static inline cw_promise *deferred(cw_loop *loop, cw_promise **keep, const char *file, int line) {
  *keep = cw_promise_new_at(loop, file, line);
  return cw_ref_at(*keep, file, line);
}

/* Settles p (consumed) with r, which is fulfilled or rejected. */
static inline void settle(cw_promise *p, cw_result r, const char *file, int line) {
  if (r.state == CW_FULFILLED)
    cw_resolve_at(p, r.value, file, line);
  else
    cw_reject_at(p, r.error, file, line);
}

/* Calls h(arg, result) when p (consumed) settles. h fulfils, so a rejection
 * of p counts as handled and the promise then makes is dropped. */
static inline void observe(cw_promise *p, cw_handler h, void *arg, const char *file, int line) {
  cw_detach_at(cw_then_at(p, h, h, arg, file, line), file, line);
}

/* What an operation returned; when it returned NULL, a misuse report and a
 * promise rejected with CW_EMISUSE in its place. */
static inline cw_promise *started(cw_loop *loop, cw_promise *p, const char *function, const char *file, int line) {
  if (p)
    return p;
  misuse(loop, function, file, line, "the operation returned no promise");
  return cw_rejected_at(loop, CW_EMISUSE, file, line);
}

/* The loop of the promise behind handle; NULL after a misuse report. */
static inline cw_loop *promise_loop(const cw_promise *handle, const char *function, const char *file, int line) {
  cw_promise *p = promise_check(handle, function, file, line);
  return p ? p->loop : NULL;
}

#endif
