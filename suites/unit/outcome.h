/* Tasks of the I/O suites, on the real backend and on the fakes alike: run
 * from a test, recording (record.h) what each awaited operation gave. */
#ifndef CW_UNIT_OUTCOME_H
#define CW_UNIT_OUTCOME_H

#include <clockwork/concurrency.h>

/* Runs fn(arg) as a task on loop: run runs the main script given, as cw_run
 * or cw_harness_run on loop does, and must return 0; then no task and no
 * operation may be left. A failed cmocka assertion cannot leave a task's
 * stack: tasks record what they see and tests check it once run returns. */
void run_as_task(cw_loop *loop, int (*run)(cw_fn main), cw_task_fn fn, void *arg);

/* Awaits p and records "label:ok", "label:N" (counted: the fulfilment value
 * as a number) or "label:UV_ENOENT"; returns the result. */
cw_result outcome(const char *label, cw_promise *p);
cw_result counted(const char *label, cw_promise *p);

#endif
