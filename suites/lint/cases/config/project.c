/* A project's configuration: its own task type, task-returning function,
 * task function, blocking function and await. */
#include <clockwork/core.h>

typedef struct job job;
job *job_start(int n);
struct reply *rpc_call(int n);
void job_wait(job *j);
int db_query_sync(const char *sql);

cw_result worker(void *arg) {
  db_query_sync(arg);
  return cw_ok(NULL);
}

cw_result waiter(void *arg) {
  job_wait(job_start(1));
  return cw_ok(arg);
}

void start(void) {
  job_start(2);
  rpc_call(3);
}
