/* Unhandled rejections, as Node's processPromiseRejections in its default
 * mode ("throw"): a rejection still without a handler once the queues have
 * drained after its macrotask is reported, and the run stops. */
#include "core_internal.h"

#include <stdio.h>
#include <stdlib.h>

void rejection_track(cw_promise *p) {
  cw_loop *loop = p->loop;
  grow_array((void **)&loop->unhandled, &loop->unhandled_cap, loop->unhandled_len + 1, sizeof *loop->unhandled);
  loop->unhandled[loop->unhandled_len++] = p;
  p->refs++;
  loop_wake(loop);
}

static cw_rejection describe(const cw_promise *p) {
  return (cw_rejection){p->error, false, p->file, p->line, p->settled_file, p->settled_line, NULL, 0};
}

void rejection_handled(cw_promise *p, const char *file, int line) {
  if (!(p->flags & P_WARNED))
    return;
  cw_loop *loop = p->loop;
  cw_rejection r = describe(p);
  r.handled_late = true;
  r.handler_file = file;
  r.handler_line = line;
  grow_array((void **)&loop->late, &loop->late_cap, loop->late_len + 1, sizeof *loop->late);
  loop->late[loop->late_len++] = r;
  loop_wake(loop);
}

static void print_rejection(const cw_rejection *r) {
  fprintf(stderr, "clockwork: %s: %s (%s)\n  promise created at %s:%d\n  rejected at %s:%d\n",
          r->handled_late ? "rejection handled late" : "unhandled rejection", cw_err_name(r->error),
          cw_strerror(r->error), r->created_file, r->created_line, r->rejected_file ? r->rejected_file : "?",
          r->rejected_line);
  if (r->handled_late)
    fprintf(stderr, "  handler attached at %s:%d\n", r->handler_file, r->handler_line);
}

bool rejections_process(cw_loop *loop) {
  bool hooked = false;
  /* a hook may add to either list: index, and re-read the arrays */
  for (size_t i = 0; i < loop->late_len; i++) {
    cw_rejection r = loop->late[i];
    if (loop->on_unhandled) {
      loop->on_unhandled(loop->on_unhandled_arg, &r);
      hooked = true;
    } else {
      print_rejection(&r);
    }
  }
  loop->late_len = 0;
  for (size_t i = 0; i < loop->unhandled_len; i++) {
    cw_promise *p = loop->unhandled[i];
    if ((p->flags & P_HANDLED) || loop->stopped)
      continue;
    p->flags |= P_WARNED;
    cw_rejection r = describe(p);
    if (loop->on_unhandled) {
      loop->on_unhandled(loop->on_unhandled_arg, &r);
      hooked = true;
    } else {
      print_rejection(&r);
      loop_stop(loop, CW_EUNHANDLED);
    }
  }
  for (size_t i = 0; i < loop->unhandled_len; i++)
    promise_unref(loop->unhandled[i]);
  loop->unhandled_len = 0;
  return hooked && (loop->ticks.count || loop->microtasks.count || loop->unhandled_len || loop->late_len);
}

void rejections_destroy(cw_loop *loop) {
  free(loop->unhandled);
  free(loop->late);
}

void cw_on_unhandled(cw_loop *loop, cw_rejection_fn fn, void *arg) {
  if (!loop) {
    misuse(NULL, "cw_on_unhandled", NULL, 0, "the loop is NULL");
    return;
  }
  loop->on_unhandled = fn;
  loop->on_unhandled_arg = arg;
}
