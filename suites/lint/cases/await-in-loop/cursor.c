/* Loop-carried dependencies: the call that makes the next iteration's
 * promise needs this iteration's result. */
#include <clockwork/core.h>

struct feed {
  cw_loop *loop;
  int pages;
  int items;
};

struct page {
  const char *next_cursor;
  int count;
};

cw_promise *fetch_after(cw_loop *loop, const char *cursor);
cw_promise *fetch_next(cw_loop *loop, const char *cursor);

/* cursor = r.value ... fetch_after(loop, cursor) */
cw_result read_feed(void *arg) {
  struct feed *f = arg;
  const char *cursor = NULL;
  for (int i = 0; i < f->pages; i++) {
    cw_result r = cw_await(fetch_after(f->loop, cursor));
    struct page *p = r.value;
    f->items += p->count;
    cursor = p->next_cursor;
  }
  return cw_ok(NULL);
}

/* the promise is made before the await, from the previous iteration's cursor */
cw_result read_feed_ahead(void *arg) {
  struct feed *f = arg;
  const char *cursor = "";
  for (int i = 0; i < f->pages; i++) {
    cw_promise *next = fetch_next(f->loop, cursor);
    struct page *p = cw_await(next).value;
    f->items += p->count;
    cursor = p->next_cursor;
  }
  return cw_ok(NULL);
}

/* the call that makes the promise is in the loop condition */
cw_result read_feed_in_condition(void *arg) {
  struct feed *f = arg;
  const char *cursor = "";
  cw_promise *next;
  int left = f->pages;
  while ((next = fetch_next(f->loop, cursor)) != NULL && left-- > 0) {
    struct page *p = cw_await(next).value;
    cursor = p->next_cursor;
  }
  return cw_ok(NULL);
}
