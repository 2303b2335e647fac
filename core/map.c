/* cw_map: fn(arg, i) for every i < n, at most limit in flight, results in
 * input order. The map ends only when nothing it started is in flight, so
 * that no element outlives the promise and the output arrays. */
#include "toolkit_internal.h"

#include <stdlib.h>

typedef struct map_state map_state;

/* The handler argument of one element: its index is its place in the array. */
typedef struct element {
  map_state *map;
} element;

struct map_state {
  cw_loop *loop;
  cw_map_fn fn;
  void *arg;
  cw_map_opts opts;
  cw_promise *out;
  uint64_t listener; /* 0 once the signal fired */
  size_t n, next, in_flight;
  int error;         /* the first failure (fail-fast) or the abort reason: start no more */
  const char *file;
  int line;
  element elements[];
};

/* What a map that went through fulfils with. */
static void *fulfilment(const cw_map_opts *o) {
  return o->settle_all ? (void *)o->results_out : (void *)o->values_out;
}

static void finish(map_state *m) {
  if (m->listener)
    cw_signal_off(m->opts.signal, m->listener);
  if (m->error)
    cw_reject_at(m->out, m->error, m->file, m->line);
  else
    cw_resolve_at(m->out, fulfilment(&m->opts), m->file, m->line);
  free(m);
}

static cw_result element_settled(void *arg, cw_result in);

/* Starts elements while there are slots; ends the map when all is done. */
static void pump(map_state *m) {
  while (!m->error && m->next < m->n && (!m->opts.limit || m->in_flight < m->opts.limit)) {
    size_t i = m->next++;
    m->in_flight++;
    cw_promise *p = started(m->loop, m->fn(m->arg, i), "cw_map", m->file, m->line);
    observe(p, element_settled, &m->elements[i], m->file, m->line);
  }
  if (!m->in_flight && (m->error || m->next == m->n))
    finish(m);
}

static cw_result element_settled(void *arg, cw_result in) {
  element *e = arg;
  map_state *m = e->map;
  size_t i = (size_t)(e - m->elements);
  if (m->opts.values_out && in.state == CW_FULFILLED)
    m->opts.values_out[i] = in.value;
  if (m->opts.results_out)
    m->opts.results_out[i] = in;
  if (in.state == CW_REJECTED && !m->opts.settle_all && !m->error)
    m->error = in.error;
  m->in_flight--;
  pump(m);
  return cw_ok(NULL);
}

/* In flight there is always an element: the last one to settle ends the map. */
static void map_aborted(void *arg) {
  map_state *m = arg;
  m->listener = 0;
  if (!m->error)
    m->error = cw_signal_reason(m->opts.signal);
}

cw_promise *cw_map_at(cw_loop *loop, size_t n, cw_map_fn fn, void *arg, const cw_map_opts *opts,
                      const char *file, int line) {
  if (!loop || !fn) {
    misuse(loop, "cw_map", file, line, "the %s is NULL", loop ? "function" : "loop");
    return NULL;
  }
  if (n > (SIZE_MAX - sizeof(map_state)) / sizeof(element)) {
    misuse(loop, "cw_map", file, line, "%zu elements do not fit in memory", n);
    return NULL;
  }
  cw_map_opts o = opts ? *opts : (cw_map_opts){0};
  for (size_t i = 0; i < n; i++) {
    if (o.values_out)
      o.values_out[i] = NULL;
    if (o.results_out)
      o.results_out[i] = (cw_result){CW_PENDING, NULL, 0, NULL};
  }
  if (cw_signal_aborted(o.signal))
    return cw_rejected_at(loop, cw_signal_reason(o.signal), file, line);
  if (n == 0)
    return cw_resolved_at(loop, fulfilment(&o), file, line);
  map_state *m = xmalloc(sizeof *m + n * sizeof(element));
  cw_promise *out = deferred(loop, &m->out, file, line);
  m->loop = loop;
  m->fn = fn;
  m->arg = arg;
  m->opts = o;
  m->n = n;
  m->next = m->in_flight = 0;
  m->error = 0;
  m->file = file;
  m->line = line;
  for (size_t i = 0; i < n; i++)
    m->elements[i].map = m;
  m->listener = o.signal ? cw_signal_on(o.signal, map_aborted, m) : 0;
  pump(m);
  return out;
}
