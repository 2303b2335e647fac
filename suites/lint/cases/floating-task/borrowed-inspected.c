/* A borrowed promise (its function takes it as a pointer to const) handed
 * to an inspector taking a pointer to const: no reference to consume.
 * Nothing to report. */
#include <clockwork/core.h>

cw_promise *check(const cw_promise *handle, const char *function);
cw_result result_of_checked(const cw_promise *p);

cw_result result_of(const cw_promise *handle) {
  cw_promise *p = check(handle, "result_of");
  return p ? result_of_checked(p) : (cw_result){CW_PENDING, NULL, 0, NULL};
}
