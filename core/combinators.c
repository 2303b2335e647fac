/* Promise.all, allSettled, race and any, on the job schedule of ECMA-262:
 * each input gets a then() at once, and the combined promise settles in the
 * job of the input that decides it. */
#include "core_internal.h"

#include <stdlib.h>

typedef enum { C_ALL, C_ALL_SETTLED, C_RACE, C_ANY } combinator_kind;

struct combinator {
  combinator_kind kind;
  bool done;          /* the combined promise is settled */
  cw_promise *target; /* a core reference */
  size_t remaining;   /* inputs still to fulfil (all, allSettled) or reject (any) */
  size_t refs;        /* reactions alive, plus the setup */
  void **values;
  cw_result *results;
  const char *file;
  int line;
};

static const char *const names[] = {"cw_all", "cw_all_settled", "cw_race", "cw_any"};

void combinator_unref(combinator *c) {
  if (--c->refs == 0) {
    promise_unref(c->target);
    free(c);
  }
}

static void finish(combinator *c, cw_state state, void *value, int error) {
  c->done = true;
  promise_settle(c->target, state, value, error, c->file, c->line);
}

static void finish_like(combinator *c, const cw_promise *source) {
  c->done = true;
  promise_settle_like(c->target, source);
}

/* All inputs counted: what the combined promise becomes (race: nothing). */
static void complete(combinator *c) {
  switch (c->kind) {
  case C_ALL:
    finish(c, CW_FULFILLED, c->values, 0);
    break;
  case C_ALL_SETTLED:
    finish(c, CW_FULFILLED, c->results, 0);
    break;
  case C_ANY:
    finish(c, CW_REJECTED, NULL, CW_EAGGREGATE);
    break;
  case C_RACE:
    break;
  }
}

void combinator_element(reaction *r, const cw_promise *source) {
  combinator *c = r->u.element.c;
  size_t i = r->u.element.index;
  bool fulfilled = source->state == CW_FULFILLED;
  switch (c->kind) {
  case C_ALL:
    if (fulfilled && c->values)
      c->values[i] = source->value;
    if (!fulfilled && !c->done)
      finish_like(c, source);
    else if (fulfilled && --c->remaining == 0 && !c->done)
      complete(c);
    break;
  case C_ALL_SETTLED:
    if (c->results)
      c->results[i] = (cw_result){(cw_state)source->state, source->value, source->error, NULL};
    if (--c->remaining == 0)
      complete(c);
    break;
  case C_RACE:
    if (!c->done)
      finish_like(c, source);
    break;
  case C_ANY:
    if (fulfilled && !c->done)
      finish(c, CW_FULFILLED, source->value, 0);
    else if (!fulfilled && --c->remaining == 0 && !c->done)
      complete(c);
    break;
  }
}

static cw_promise *combine(cw_loop *loop, combinator_kind kind, cw_promise **ps, size_t n, void **values,
                           cw_result *results, const char *file, int line) {
  const char *function = names[kind];
  if (!loop) {
    misuse(NULL, function, file, line, "the loop is NULL");
    return NULL;
  }
  if (!ps && n > 0) {
    misuse(loop, function, file, line, "the array of promises is NULL and n is %zu", n);
    return cw_rejected_at(loop, CW_EMISUSE, file, line);
  }
  /* take every input first: a bad one rejects the whole call, and the
   * others are still consumed, as promised */
  cw_promise **inputs = xmalloc((n ? n : 1) * sizeof *inputs);
  bool ok = true;
  for (size_t i = 0; i < n; i++) {
    inputs[i] = promise_take(ps[i], function, file, line);
    if (inputs[i] && inputs[i]->loop != loop) {
      misuse(loop, function, file, line, "promise %zu belongs to another loop", i);
      promise_unref(inputs[i]);
      inputs[i] = NULL;
    }
    ok = ok && inputs[i];
  }
  if (!ok) {
    for (size_t i = 0; i < n; i++)
      if (inputs[i])
        promise_unref(inputs[i]);
    free(inputs);
    return cw_rejected_at(loop, CW_EMISUSE, file, line);
  }

  cw_promise *target = promise_alloc(loop, file, line);
  target->flags |= P_CORE;
  target->refs++;
  combinator *c = xmalloc(sizeof *c);
  *c = (combinator){kind, false, target, n, 1, values, results, file, line};
  for (size_t i = 0; i < n; i++) {
    reaction *r = reaction_new(loop, R_ELEMENT, NULL, file, line);
    r->u.element.c = c;
    r->u.element.index = i;
    c->refs++;
    promise_react(inputs[i], r, file, line);
    promise_unref(inputs[i]);
  }
  free(inputs);
  if (n == 0)
    complete(c);
  combinator_unref(c);
  return promise_handle(target);
}

cw_promise *cw_all_at(cw_loop *loop, cw_promise **ps, size_t n, void **values_out, const char *file, int line) {
  return combine(loop, C_ALL, ps, n, values_out, NULL, file, line);
}

cw_promise *cw_all_settled_at(cw_loop *loop, cw_promise **ps, size_t n, cw_result *results_out, const char *file,
                              int line) {
  return combine(loop, C_ALL_SETTLED, ps, n, NULL, results_out, file, line);
}

cw_promise *cw_race_at(cw_loop *loop, cw_promise **ps, size_t n, const char *file, int line) {
  return combine(loop, C_RACE, ps, n, NULL, NULL, file, line);
}

cw_promise *cw_any_at(cw_loop *loop, cw_promise **ps, size_t n, const char *file, int line) {
  return combine(loop, C_ANY, ps, n, NULL, NULL, file, line);
}
