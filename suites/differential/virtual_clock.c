/* The differential runner on the harness: the program runs on virtual time,
 * where every callback runs at its nominal time, and must still print what
 * Node prints on the real clock. The harness's teardown checks (floating
 * references, unhandled rejections, timers left armed) fail the run. */
#include "run.h"

#include <clockwork/harness.h>
#include <stdio.h>

static cw_harness *harness;
static unsigned failures;

static void report(void *arg, const char *message) {
  (void)arg;
  fprintf(stderr, "%s\n", message);
  failures++;
}

cw_loop *program_loop_new(void) {
  harness = cw_harness_new(&(cw_harness_opts){.fail = report});
  return harness ? cw_harness_loop(harness) : NULL;
}

int program_loop_run(cw_fn main, void *arg) { return cw_harness_run(harness, main, arg); }

bool program_loop_free(void) {
  cw_harness_free(harness);
  return failures == 0;
}
