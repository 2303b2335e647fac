/* Two independent awaits: as assignments, and as a declaration followed by
 * a return of the second. */
#include <clockwork/core.h>

struct page {
  cw_loop *loop;
  const char *slug;
  void *header, *body;
};

cw_promise *load_header(cw_loop *loop);
cw_promise *load_body(cw_loop *loop, const char *slug);

cw_result render_page(void *arg) {
  struct page *p = arg;
  p->header = cw_await(load_header(p->loop)).value;
  p->body = cw_await(load_body(p->loop, p->slug)).value;
  return cw_ok(p);
}

cw_result body_after_header(void *arg) {
  struct page *p = arg;
  cw_result header = cw_await(load_header(p->loop));
  p->header = header.value;
  return cw_await(load_body(p->loop, p->slug));
}
