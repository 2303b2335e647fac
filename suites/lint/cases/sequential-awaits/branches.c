/* Awaits in different branches never both run; an await in a branch
 * between two others breaks the run; an await in an arm of ?: is in a
 * branch too. */
#include <clockwork/core.h>
#include <stdbool.h>

struct fetch {
  cw_loop *loop;
  bool cached;
  void *value;
};

cw_promise *from_cache(cw_loop *loop);
cw_promise *from_network(cw_loop *loop);
cw_promise *audit(cw_loop *loop);

cw_result load(void *arg) {
  struct fetch *f = arg;
  if (f->cached) {
    f->value = cw_await(from_cache(f->loop)).value;
  } else {
    f->value = cw_await(from_network(f->loop)).value;
  }
  return cw_ok(f->value);
}

cw_result load_and_audit(void *arg) {
  struct fetch *f = arg;
  cw_await(audit(f->loop));
  if (!f->cached)
    cw_await(from_network(f->loop));
  cw_await(audit(f->loop));
  return cw_ok(NULL);
}

cw_result load_either(void *arg) {
  struct fetch *f = arg;
  f->value = (f->cached ? cw_await(from_cache(f->loop)) : cw_await(from_network(f->loop))).value;
  return cw_await(audit(f->loop));
}
