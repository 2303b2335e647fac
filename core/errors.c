/* Names and messages of error codes: clockwork's own, then libuv's. */
#include "core_internal.h"
#include "clockwork/concurrency.h"

#include <stdio.h>
#include <string.h>

static const struct {
  int code;
  const char *name;
  const char *message;
} own_errors[] = {
    {CW_EAGGREGATE, "CW_EAGGREGATE", "all promises were rejected"},
    {CW_EUNHANDLED, "CW_EUNHANDLED", "unhandled promise rejection"},
    {CW_EMISUSE, "CW_EMISUSE", "the clockwork API was misused"},
    {CW_ECYCLE, "CW_ECYCLE", "chaining cycle: a promise resolved with itself"},
    {CW_EOPEN, "CW_EOPEN", "the circuit breaker is open"},
    {CW_ELIMIT, "CW_ELIMIT", "a loop guard stopped a run that would not end"},
};

#define N_OWN (sizeof own_errors / sizeof own_errors[0])

const char *cw_err_name(int error) {
  for (size_t i = 0; i < N_OWN; i++)
    if (own_errors[i].code == error)
      return own_errors[i].name;
  /* the _r form: uv_err_name leaks a string for codes it does not know */
  static _Thread_local char name[80];
  char bare[64];
  uv_err_name_r(error, bare, sizeof bare);
  if (bare[0] != 'E') /* "Unknown system error -N" */
    return strcpy(name, bare);
  snprintf(name, sizeof name, "UV_%s", bare);
  return name;
}

const char *cw_strerror(int error) {
  for (size_t i = 0; i < N_OWN; i++)
    if (own_errors[i].code == error)
      return own_errors[i].message;
  static _Thread_local char message[128];
  return uv_strerror_r(error, message, sizeof message);
}

cw_result cw_ok(void *value) { return (cw_result){CW_FULFILLED, value, 0, NULL}; }
cw_result cw_err(int error) { return (cw_result){CW_REJECTED, NULL, error, NULL}; }
cw_result cw_follow(cw_promise *p) { return (cw_result){CW_PENDING, NULL, 0, p}; }
