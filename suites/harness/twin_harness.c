/* twin_main on the harness: a conformance twin's script runs on the
 * harness's loop, on virtual time, and must print what Node prints. */
#include "twin_harness.h"

#include <stdio.h>

static unsigned failures;

static void report(void *arg, const char *message) {
  (void)arg;
  fprintf(stderr, "%s\n", message);
  failures++;
}

int twin_harness_main(int (*prepare)(cw_harness *h), cw_fn script) {
  cw_harness *h = cw_harness_new(&(cw_harness_opts){.fail = report});
  if (!h)
    return 1;
  loop = cw_harness_loop(h);
  int rc = prepare ? prepare(h) : 0;
  if (rc == 0 && (rc = cw_harness_run(h, script, NULL)) != 0)
    fprintf(stderr, "cw_harness_run returned %s: %s\n", cw_err_name(rc), cw_strerror(rc));
  cw_harness_free(h);
  return rc != 0 || failures != 0;
}

int twin_main(cw_fn script) { return twin_harness_main(NULL, script); }
