#include "outcome.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <clockwork/io.h>

#include "record.h"

static struct {
  cw_loop *loop;
  cw_task_fn fn;
  void *arg;
} task;

static void spawn_task(void *unused) {
  (void)unused;
  cw_detach(cw_spawn(task.loop, task.fn, task.arg));
}

void run_as_task(cw_loop *loop, int (*run)(cw_fn main), cw_task_fn fn, void *arg) {
  task.loop = loop;
  task.fn = fn;
  task.arg = arg;
  assert_int_equal(run(spawn_task), 0);
  assert_int_equal(cw_loop_tasks(loop, NULL, NULL), 0);
  assert_int_equal(cw_io_in_flight(loop), 0);
}

static cw_result recorded(const char *label, cw_promise *p, bool count) {
  cw_result r = cw_await(p);
  if (r.state == CW_REJECTED)
    rec_fmt("%s:%s", label, cw_err_name(r.error));
  else if (count)
    rec_fmt("%s:%ld", label, (long)(intptr_t)r.value);
  else
    rec_fmt("%s:ok", label);
  return r;
}

cw_result outcome(const char *label, cw_promise *p) { return recorded(label, p, false); }

cw_result counted(const char *label, cw_promise *p) { return recorded(label, p, true); }
