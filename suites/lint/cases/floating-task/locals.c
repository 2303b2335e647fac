/* Locals that are given a promise and never consume it. */
#include <clockwork/core.h>

cw_promise *make(cw_loop *loop);
void keep(cw_promise *p);

void never_used(cw_loop *loop) {
  cw_promise *p = make(loop);
}

void only_inspected(cw_loop *loop) {
  cw_promise *p = make(loop);
  if (!p || cw_promise_state(p) == CW_PENDING)
    return;
  (void)p;
}

void assigned_later(cw_loop *loop, int flag) {
  cw_promise *p = NULL;
  if (flag)
    p = make(loop);
}

void referenced_only(cw_loop *loop) {
  cw_promise *p = make(loop);
  cw_promise *extra = cw_ref(p); /* p itself is never consumed */
  cw_detach(extra);
}

void overwritten(cw_loop *loop) {
  cw_promise *p = make(loop);
  p = make(loop);
  cw_detach(p);
}

void overwritten_by_null(cw_loop *loop) {
  cw_promise *p = make(loop);
  if (cw_promise_state(p) == CW_FULFILLED)
    return;
  p = NULL;
  keep(p);
}

void parameter_reassigned(cw_loop *loop, cw_promise *p) {
  cw_detach(p);
  p = make(loop);
}
