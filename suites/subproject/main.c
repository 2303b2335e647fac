/* The classic "predict the output order" exercise on clockwork; it prints
 * A E C D B, as Node prints for:
 *
 *   console.log('A')
 *   setTimeout(() => console.log('B'), 0)
 *   Promise.resolve().then(() => console.log('C')).then(() => console.log('D'))
 *   console.log('E')
 */
#include <clockwork/core.h>
#include <stdio.h>

static void say(void *text) {
  puts(text);
}

static cw_result say_then(void *text, cw_result in) {
  (void)in;
  puts(text);
  return cw_ok(NULL);
}

static void program(void *loop) {
  puts("A");
  cw_set_timeout(loop, 0, say, "B");
  cw_promise *c = cw_then(cw_resolved(loop, NULL), say_then, NULL, "C");
  cw_detach(cw_then(c, say_then, NULL, "D"));
  puts("E");
}

int main(void) {
  cw_loop *loop = cw_loop_new();
  if (!loop)
    return 1;
  int rc = cw_run(loop, program, loop);
  cw_loop_free(loop);
  if (rc != 0)
    fprintf(stderr, "cw_run: %s\n", cw_strerror(rc));
  return rc != 0;
}
