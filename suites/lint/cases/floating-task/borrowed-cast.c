/* A borrowed promise (its function takes it as a pointer to const) whose
 * field is read under a cast: no reference to consume. Nothing to report. */
#include <clockwork/core.h>

struct cw_promise {
  unsigned char state;
};

cw_promise *check(const cw_promise *handle, const char *function);

cw_state state_of(const cw_promise *handle) {
  cw_promise *p = check(handle, "state_of");
  return p ? (cw_state)p->state : CW_PENDING;
}
