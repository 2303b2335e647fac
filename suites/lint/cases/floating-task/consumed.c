/* Every way of consuming a promise: nothing to report. */
#include <clockwork/concurrency.h>

cw_promise *make(cw_loop *loop);
void keep(cw_promise *p);
void keep_all(cw_promise **ps);
static cw_promise *saved;
struct holder {
  cw_promise *p;
  cw_promise *list[2];
};

static cw_result pass(void *arg, cw_result in) {
  (void)arg;
  return in;
}

cw_result task_body(void *arg) {
  cw_loop *loop = arg;
  cw_result r = cw_await(make(loop));
  cw_promise *p = make(loop);
  r = cw_await(p);
  return cw_follow(make(loop));
}

cw_promise *chains(cw_loop *loop) {
  cw_promise *p = make(loop);
  p = cw_then(p, pass, NULL, NULL); /* consumed by the assignment that reuses p */
  p = cw_timeout(p, 100);
  p = cw_abortable(p, NULL);
  return cw_finally(p, NULL, NULL);
}

void hands_off(cw_loop *loop, struct holder *h, int flag) {
  cw_detach(make(loop));
  cw_release(make(loop));
  cw_promise *settler = cw_promise_new(loop);
  cw_resolve_with(settler, make(loop));
  cw_promise *rejected = cw_promise_new(loop);
  cw_reject(rejected, UV_ECANCELED);

  cw_promise *ps[2] = {make(loop), make(loop)};
  cw_detach(cw_all(loop, ps, 2, NULL));
  h->list[0] = make(loop);
  h->list[1] = make(loop);
  keep_all(h->list);

  h->p = make(loop);
  saved = make(loop);
  keep(make(loop));

  cw_promise *a = make(loop), *b = make(loop), *c = make(loop), *d = make(loop);
  h->p = a;
  keep(b);
  void *any = c;
  keep(any);
  cw_promise **where = &d;
  keep(*where);

  cw_promise *e;
  if (flag)
    e = make(loop);
  else
    e = make(loop);
  cw_detach(e);

  cw_promise *f = NULL;
  for (int i = 0; i < 3; i++) {
    if (f)
      cw_detach(f);
    f = make(loop);
  }
  cw_detach(f);

  struct holder local = {make(loop), {make(loop), make(loop)}};
  keep_all(local.list);
  keep(local.p);
  keep(((struct holder){.p = make(loop)}).p);
}
