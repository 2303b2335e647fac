/* A reusable limiter (p-limit): operations wait in a FIFO queue for one of
 * limit slots. The limiter outlives cw_limiter_free while operations it
 * started are running, since their completion hands their slot back. */
#include "toolkit_internal.h"

#include <stdlib.h>

typedef struct waiter {
  struct waiter *next;
  cw_limiter *limiter;
  cw_start_fn fn;
  void *arg;
  cw_promise *out;
  const char *file;
  int line;
} waiter;

struct cw_limiter {
  cw_loop *loop;
  size_t limit, active, pending;
  waiter *head, *tail;
  bool freed;
};

static bool usable(const cw_limiter *l, const char *function, const char *file, int line) {
  if (l && !l->freed)
    return true;
  misuse(l ? l->loop : NULL, function, file, line, l ? "the limiter was freed" : "the limiter is NULL");
  return false;
}

cw_limiter *cw_limiter_new(cw_loop *loop, size_t limit) {
  if (!loop) {
    misuse(NULL, "cw_limiter_new", NULL, 0, "the loop is NULL");
    return NULL;
  }
  cw_limiter *l = xmalloc(sizeof *l);
  *l = (cw_limiter){.loop = loop, .limit = limit};
  return l;
}

static waiter *dequeue(cw_limiter *l) {
  waiter *w = l->head;
  l->head = w->next;
  if (!l->head)
    l->tail = NULL;
  l->pending--;
  return w;
}

static void pump(cw_limiter *l);

static cw_result run_settled(void *arg, cw_result in) {
  waiter *w = arg;
  cw_limiter *l = w->limiter;
  settle(w->out, in, w->file, w->line);
  free(w);
  l->active--;
  if (!l->freed)
    pump(l);
  else if (!l->active)
    free(l);
  return cw_ok(NULL);
}

static void pump(cw_limiter *l) {
  while (l->head && (!l->limit || l->active < l->limit)) {
    waiter *w = dequeue(l);
    l->active++;
    cw_promise *p = started(l->loop, w->fn(w->arg), "cw_limit", w->file, w->line);
    observe(p, run_settled, w, w->file, w->line);
  }
}

cw_promise *cw_limit_at(cw_limiter *l, cw_start_fn fn, void *arg, const char *file, int line) {
  if (!usable(l, "cw_limit", file, line))
    return NULL;
  if (!fn) {
    misuse(l->loop, "cw_limit", file, line, "the function is NULL");
    return NULL;
  }
  waiter *w = xmalloc(sizeof *w);
  *w = (waiter){NULL, l, fn, arg, NULL, file, line};
  cw_promise *out = deferred(l->loop, &w->out, file, line);
  if (l->tail)
    l->tail->next = w;
  else
    l->head = w;
  l->tail = w;
  l->pending++;
  pump(l);
  return out;
}

size_t cw_limiter_active(const cw_limiter *l) { return l ? l->active : 0; }

size_t cw_limiter_pending(const cw_limiter *l) { return l ? l->pending : 0; }

void cw_limiter_free(cw_limiter *l) {
  if (!l)
    return;
  if (!usable(l, "cw_limiter_free", NULL, 0))
    return;
  l->freed = true;
  while (l->head) {
    waiter *w = dequeue(l);
    cw_reject_at(w->out, UV_ECANCELED, w->file, w->line);
    free(w);
  }
  if (!l->active)
    free(l);
}
