/* Promises dropped by an expression statement, however they are made. */
#include <clockwork/concurrency.h>
#include <clockwork/io.h>

typedef cw_promise *job;            /* a typedef of the handle */
typedef job (*job_starter)(void *); /* a function pointer returning one */
struct service {
  cw_promise *(*start)(void *arg);
};
#define START_LATER(loop) cw_sleep(loop, 5) /* a macro of the user's */

static job make_job(cw_loop *loop) {
  return cw_resolved(loop, NULL);
}

static cw_result pass(void *arg, cw_result in) {
  (void)arg;
  return in;
}

void drops(cw_loop *loop, job_starter starter, struct service *svc, cw_promise *p, cw_map_fn fn) {
  cw_sleep(loop, 10);
  cw_then(p, pass, NULL, NULL);
  cw_timeout_at(make_job(loop), 100, __FILE__, __LINE__);
  make_job(loop);
  starter(loop);
  svc->start(loop);
  START_LATER(loop);
  cw_fs_open(loop, "f", 0, 0);
  cw_map(loop, 4, fn, NULL, 2, NULL);
  cw_detach(cw_ref(p)); /* cw_ref's own promise is handed off, but it does not consume p */
  cw_ref(make_job(loop));
}
