#include "twin.h"

#include <stdarg.h>
#include <stdio.h>

cw_loop *loop;

void say(void *line) {
  puts(line);
  fflush(stdout);
}

cw_result then_say(void *line, cw_result in) {
  (void)in;
  say(line);
  return cw_ok(NULL);
}

void say_in_chain(const char *label, ...) {
  cw_promise *p = cw_resolved(loop, NULL);
  va_list ap;
  va_start(ap, label);
  for (; label; label = va_arg(ap, const char *))
    p = cw_then(p, then_say, NULL, (void *)label);
  va_end(ap);
  cw_detach(p);
}

int twin_main(cw_fn script) {
  loop = cw_loop_new();
  if (!loop) {
    fputs("cw_loop_new: out of memory\n", stderr);
    return 1;
  }
  int rc = cw_run(loop, script, NULL);
  if (rc != 0)
    fprintf(stderr, "cw_run returned %s: %s\n", cw_err_name(rc), cw_strerror(rc));
  size_t floating = cw_loop_floating(loop, NULL, NULL);
  if (floating != 0)
    fprintf(stderr, "%zu promise reference(s) left floating\n", floating);
  cw_loop_free(loop);
  return rc != 0 || floating != 0;
}
