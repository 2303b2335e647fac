/* A borrowed promise (its function takes it as a pointer to const) tested
 * in a condition and read through: no reference to consume. Nothing to
 * report. */
#include <clockwork/core.h>

struct cw_promise {
  cw_loop *loop;
};

cw_promise *check(const cw_promise *handle, const char *function);

cw_loop *loop_of(const cw_promise *handle) {
  cw_promise *p = check(handle, "loop_of");
  return p ? p->loop : NULL;
}
