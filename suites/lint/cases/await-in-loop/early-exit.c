/* Early exits: a loop that stops at the first failure (return or goto out
 * of it) needs each result before starting the next call. A continue does
 * not leave the loop: that one is reported. */
#include <clockwork/core.h>

struct job {
  cw_loop *loop;
  const int *steps;
  int n;
  int done;
};

cw_promise *run_step(cw_loop *loop, int step);

cw_result run_until_failure(void *arg) {
  struct job *j = arg;
  for (int i = 0; i < j->n; i++) {
    cw_result r = cw_await(run_step(j->loop, j->steps[i]));
    if (r.state == CW_REJECTED)
      return r;
    j->done++;
  }
  return cw_ok(NULL);
}

cw_result run_or_clean_up(void *arg) {
  struct job *j = arg;
  int i = 0;
  while (i < j->n) {
    if (cw_await(run_step(j->loop, j->steps[i])).state == CW_REJECTED)
      goto failed;
    i++;
  }
  return cw_ok(NULL);
failed:
  j->done = i;
  return cw_err(-1);
}

cw_result run_skipping_failures(void *arg) {
  struct job *j = arg;
  for (int i = 0; i < j->n; i++) {
    cw_result r = cw_await(run_step(j->loop, j->steps[i]));
    if (r.state == CW_REJECTED)
      continue;
    j->done++;
  }
  return cw_ok(NULL);
}
