/* A promise borrowed from a function that takes it as a pointer to const
 * (the core's promise_check), written through and the handle returned: the
 * borrowed pointer is no reference of its own. Nothing to report. */
#include <clockwork/core.h>

struct cw_promise {
  unsigned user_refs;
};

cw_promise *check(const cw_promise *handle, const char *function);

cw_promise *add_ref(cw_promise *handle) {
  cw_promise *p = check(handle, "add_ref");
  if (!p)
    return NULL;
  p->user_refs++;
  return handle;
}
