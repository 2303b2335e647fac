/* Task handles of the project's own: a type named in the configuration,
 * a function configured as task-returning, and one annotated cw_task. */
#include <clockwork/core.h>

typedef struct job job;
job *job_start(int n);                                         /* configured task-type */
struct request *request_send(int n);                           /* configured task-returning */
struct lease *lease_take(int n) __attribute__((annotate("cw_task"))); /* annotated */
void job_wait(job *j);
struct request *request_find(int n); /* neither: dropping it is fine */

void project(void) {
  job_start(1);
  request_send(2);
  lease_take(3);
  request_find(4);
  job *j = job_start(5);
  job *k = job_start(6);
  job_wait(k);
}
