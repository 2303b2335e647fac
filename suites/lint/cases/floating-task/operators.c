/* A promise as an operand whose value is dropped, or cast to void. */
#include <clockwork/core.h>

cw_promise *make(cw_loop *loop);

void operators(cw_loop *loop, int flag) {
  (void)make(loop);
  (void)cw_resolved(loop, NULL);
  flag ? make(loop) : NULL;
  flag ? (void)0 : (void)make(loop);
  (make(loop), flag);
  (flag, make(loop));
  flag && make(loop);
  flag || make(loop);
  if (make(loop)) {
    flag = 0;
  }
  while (!make(loop))
    flag++;
  flag = make(loop) == NULL;
}

/* Operands whose value is used. */
cw_promise *kept(cw_loop *loop, int flag) {
  cw_detach(flag ? make(loop) : cw_resolved(loop, NULL));
  cw_detach((flag++, make(loop)));
  cw_promise *p = flag ? make(loop) : NULL;
  cw_detach(p);
  return flag ? make(loop) : (cw_promise *)make(loop);
}
