/* Declarations the rules read from a shared header: what the annotate
 * attribute marks, a task handle and a task function. */
#include <clockwork/concurrency.h>
typedef struct job job;
__attribute__((annotate("cw_task"))) job *start_job(cw_loop *loop);
__attribute__((annotate("cw_task"))) cw_result worker(void *arg);
