/* The loop under a differential program: run.c reads the program and runs
 * it; real_clock.c gives it a plain loop on the real clock, as Node has, and
 * virtual_clock.c the harness's loop on virtual time. One runner, two links. */
#ifndef CW_DIFFERENTIAL_RUN_H
#define CW_DIFFERENTIAL_RUN_H

#include <clockwork/core.h>

/* A fresh loop; NULL when out of memory. */
cw_loop *program_loop_new(void);
/* Runs main as the first macrotask, then the loop until nothing is left;
 * returns as cw_run. */
int program_loop_run(cw_fn main, void *arg);
/* Frees the loop, once the program has released its references; false
 * when some were left floating or another teardown check failed. */
bool program_loop_free(void);

#endif
