/* The differential runner on the real clock: a plain loop, as Node's. */
#include "run.h"

#include <stdio.h>

static cw_loop *loop;

cw_loop *program_loop_new(void) { return loop = cw_loop_new(); }

int program_loop_run(cw_fn main, void *arg) { return cw_run(loop, main, arg); }

bool program_loop_free(void) {
  size_t floating = cw_loop_floating(loop, NULL, NULL);
  if (floating != 0)
    fprintf(stderr, "%zu promise reference(s) left floating\n", floating);
  cw_loop_free(loop);
  return floating == 0;
}
