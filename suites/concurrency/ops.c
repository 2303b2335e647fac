#include "ops.h"

#include <stdlib.h>

#include "fixture.h"
#include "record.h"

flight ops;

void ops_reset(void) { ops = (flight){0, 0, 0}; }

typedef struct running {
  cw_loop *loop;
  cw_promise *p;
  script s;
  size_t id;
} running;

static void turn(void *arg) {
  running *r = arg;
  if (r->s.turns > 0) {
    r->s.turns--;
    cw_set_immediate(r->loop, turn, r);
    return;
  }
  ops.now--;
  rec_fmt("%c%zu", r->s.error ? 'x' : '-', r->id);
  if (r->s.error)
    cw_reject(r->p, r->s.error);
  else
    cw_resolve(r->p, r->s.value);
  free(r);
}

cw_promise *op_start(cw_loop *loop, const script *s, size_t id) {
  running *r = malloc(sizeof *r);
  *r = (running){loop, cw_promise_new(loop), *s, id};
  ops.started++;
  if (++ops.now > ops.peak)
    ops.peak = ops.now;
  rec_fmt("+%zu", id);
  cw_set_immediate(loop, turn, r);
  return cw_ref(r->p);
}

cw_promise *op_map(void *scripts, size_t i) { return op_start(test_loop, &((const script *)scripts)[i], i); }

uint64_t loop_now(void) {
  uv_loop_t *uv = cw_loop_uv(test_loop);
  uv_update_time(uv);
  return uv_now(uv);
}

cw_result rec_outcome(void *arg, cw_result in) {
  observer *o = arg;
  rec_fmt("%s:%s", o->label, in.state == CW_FULFILLED ? "ok" : cw_err_name(in.error));
  o->calls++;
  o->in = in;
  return cw_ok(NULL);
}

void watch(cw_promise *p, void *observer) { cw_detach(cw_then(p, rec_outcome, rec_outcome, observer)); }
