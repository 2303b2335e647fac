/* Cancellation: AbortController and AbortSignal in one object. Whoever uses
 * a signal registers a listener, and every listener holds a reference, so a
 * signal freed by its owner lives on until the operations using it are done
 * with it (they remove their listener when they settle). */
#include "toolkit_internal.h"

#include <stdlib.h>

typedef struct listener {
  struct listener *next;
  uint64_t id;
  cw_fn fn;
  void *arg;
} listener;

struct cw_signal {
  cw_loop *loop;
  listener *head, *tail; /* in registration order */
  uint64_t next_id;
  cw_timer *timer;       /* cw_signal_timeout's, until it fires */
  unsigned refs;         /* the owner's, one per listener, one while aborting */
  int reason;            /* 0 while not aborted */
  bool freed;            /* the owner let go */
};

static void unref(cw_signal *s) {
  if (--s->refs)
    return;
  cw_clear(s->timer);
  free(s);
}

/* s may be used by its owner: not NULL and not freed. */
static bool owned(const cw_signal *s, const char *function) {
  if (s && !s->freed)
    return true;
  misuse(s ? s->loop : NULL, function, NULL, 0, s ? "the signal was freed" : "the signal is NULL");
  return false;
}

cw_signal *cw_signal_new(cw_loop *loop) {
  if (!loop) {
    misuse(NULL, "cw_signal_new", NULL, 0, "the loop is NULL");
    return NULL;
  }
  cw_signal *s = xmalloc(sizeof *s);
  *s = (cw_signal){.loop = loop, .next_id = 1, .refs = 1};
  return s;
}

static void abort_with(cw_signal *s, int reason) {
  if (s->reason)
    return;
  s->reason = reason;
  cw_clear(s->timer);
  s->timer = NULL;
  s->refs++; /* listeners may free s: it stays readable until the last ran */
  while (s->head) {
    listener *l = s->head;
    cw_fn fn = l->fn;
    void *arg = l->arg;
    s->head = l->next;
    free(l);
    fn(arg);
    s->refs--; /* the listener's reference */
  }
  s->tail = NULL;
  unref(s);
}

static void on_timeout(void *arg) {
  cw_signal *s = arg;
  s->timer = NULL;
  abort_with(s, UV_ETIMEDOUT);
}

cw_signal *cw_signal_timeout(cw_loop *loop, uint64_t ms) {
  cw_signal *s = cw_signal_new(loop);
  if (s) {
    s->timer = cw_set_timeout(loop, ms, on_timeout, s);
    cw_timer_unref(s->timer); /* AbortSignal.timeout does not keep the loop alive either */
  }
  return s;
}

void cw_signal_abort(cw_signal *s, int reason) {
  if (!owned(s, "cw_signal_abort"))
    return;
  if (reason > 0) {
    misuse(s->loop, "cw_signal_abort", NULL, 0, "reason %d: a reason is a negative libuv or clockwork code", reason);
    reason = CW_EMISUSE;
  }
  abort_with(s, reason ? reason : UV_ECANCELED);
}

bool cw_signal_aborted(const cw_signal *s) { return s && s->reason; }

int cw_signal_reason(const cw_signal *s) { return s ? s->reason : 0; }

uint64_t cw_signal_on(cw_signal *s, cw_fn fn, void *arg) {
  if (!fn) {
    misuse(s ? s->loop : NULL, "cw_signal_on", NULL, 0, "the function is NULL");
    return 0;
  }
  if (!owned(s, "cw_signal_on"))
    return 0;
  uint64_t id = s->next_id++;
  if (s->reason) {
    fn(arg);
    return id;
  }
  listener *l = xmalloc(sizeof *l);
  *l = (listener){NULL, id, fn, arg};
  if (s->tail)
    s->tail->next = l;
  else
    s->head = l;
  s->tail = l;
  s->refs++;
  return id;
}

/* Operations remove their listener when they settle, after the owner may
 * have freed s: a freed signal is fine here. */
void cw_signal_off(cw_signal *s, uint64_t id) {
  if (!s) {
    misuse(NULL, "cw_signal_off", NULL, 0, "the signal is NULL");
    return;
  }
  listener *prev = NULL;
  for (listener *l = s->head; l; prev = l, l = l->next) {
    if (l->id != id)
      continue;
    if (prev)
      prev->next = l->next;
    else
      s->head = l->next;
    if (s->tail == l)
      s->tail = prev;
    free(l);
    unref(s);
    return;
  }
}

void cw_signal_free(cw_signal *s) {
  if (!s) /* free(NULL) */
    return;
  if (!owned(s, "cw_signal_free"))
    return;
  s->freed = true;
  unref(s);
}
