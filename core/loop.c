/* The loop: lifecycle, macrotasks and the drain after each of them, as
 * Node's processTicksAndRejections. */
#include "core_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static cw_loop *loop_setup(cw_loop *loop, uv_loop_t *uv) {
  loop->uv = uv;
  job_queue_init(&loop->ticks);
  job_queue_init(&loop->microtasks);
  pool_init(&loop->promises, sizeof(cw_promise));
  pool_init(&loop->reactions, sizeof(reaction));
  pool_init(&loop->timers, timer_size());
  pool_init(&loop->tasks, task_size());
  timers_init(loop);
  random_init(loop);
  return loop;
}

cw_loop *cw_loop_new(void) {
  cw_loop *loop = calloc(1, sizeof *loop);
  if (!loop)
    return NULL;
  if (uv_loop_init(&loop->own_uv) != 0) {
    free(loop);
    return NULL;
  }
  loop->owns_uv = true;
  return loop_setup(loop, &loop->own_uv);
}

cw_loop *cw_loop_wrap(uv_loop_t *uv) {
  if (!uv) {
    misuse(NULL, "cw_loop_wrap", NULL, 0, "the uv_loop_t is NULL");
    return NULL;
  }
  cw_loop *loop = calloc(1, sizeof *loop);
  return loop ? loop_setup(loop, uv) : NULL;
}

uv_loop_t *cw_loop_uv(cw_loop *loop) {
  if (!loop) {
    misuse(NULL, "cw_loop_uv", NULL, 0, "the loop is NULL");
    return NULL;
  }
  return loop->uv;
}

static void print_floating(void *arg, const char *file, int line, cw_state state, unsigned refs) {
  (void)arg;
  fprintf(stderr, "clockwork: floating promise created at %s:%d (%s, %u reference%s never consumed)\n", file,
          line, state == CW_PENDING ? "pending" : state == CW_FULFILLED ? "fulfilled" : "rejected", refs,
          refs == 1 ? "" : "s");
}

static void close_any(uv_handle_t *handle, void *arg) {
  (void)arg;
  if (!uv_is_closing(handle))
    uv_close(handle, NULL);
}

void cw_loop_free(cw_loop *loop) {
  if (!loop)
    return;
  if (loop->running || loop->depth > 0) {
    misuse(loop, "cw_loop_free", NULL, 0, "the loop is running: free it after cw_run returns");
    return;
  }
  cw_loop_floating(loop, print_floating, NULL);
  tasks_destroy(loop);
  timers_destroy(loop);
  rejections_destroy(loop);
  job_queue_destroy(&loop->ticks);
  job_queue_destroy(&loop->microtasks);
  pool_destroy(&loop->promises);
  pool_destroy(&loop->reactions);
  pool_destroy(&loop->timers);
  pool_destroy(&loop->tasks);
  free(loop->doomed);
  if (loop->owns_uv) {
    /* our handles are closing; handles someone else left on our loop too */
    uv_run(loop->uv, UV_RUN_NOWAIT);
    if (uv_loop_close(loop->uv) == UV_EBUSY) {
      uv_walk(loop->uv, close_any, NULL);
      uv_run(loop->uv, UV_RUN_NOWAIT);
      uv_loop_close(loop->uv);
    }
  }
  free(loop);
}

int cw_run_at(cw_loop *loop, cw_fn main, void *arg, const char *file, int line) {
  if (!loop) {
    misuse(NULL, "cw_run", file, line, "the loop is NULL");
    return CW_EMISUSE;
  }
  if (loop->running || loop->depth > 0) {
    misuse(loop, "cw_run", file, line, "cw_run called from inside a callback of the same loop");
    return CW_EMISUSE;
  }
  unsigned long misuses = loop->misuses;
  cw_loop *outer = misuse_set_loop(loop);
  loop->running = true;
  loop->stopped = false;
  cw_macrotask_begin_at(loop, CW_PHASE_MAIN, file, line);
  if (main)
    main(arg);
  cw_macrotask_end_at(loop, file, line);
  if (!loop->stopped) {
    loop->in_uv_run = true;
    uv_run(loop->uv, UV_RUN_DEFAULT);
    loop->in_uv_run = false;
  }
  loop->running = false;
  misuse_set_loop(outer);
  if (loop->stopped)
    return CW_EUNHANDLED;
  return loop->misuses != misuses ? CW_EMISUSE : 0;
}

cw_phase cw_loop_phase(const cw_loop *loop) { return loop ? loop->phase : CW_PHASE_NONE; }

const char *cw_phase_name(cw_phase phase) {
  static const char *const names[] = {"none",  "main",  "timers", "pending",  "poll",
                                      "check", "close", "tick",   "microtask"};
  return (unsigned)phase < sizeof names / sizeof names[0] ? names[phase] : "unknown";
}

void cw_macrotask_begin_at(cw_loop *loop, cw_phase phase, const char *file, int line) {
  if (!loop) {
    misuse(NULL, "cw_macrotask_begin", file, line, "the loop is NULL");
    return;
  }
  if (loop->depth++ == 0)
    loop->phase = phase;
}

void cw_macrotask_end_at(cw_loop *loop, const char *file, int line) {
  if (!loop || loop->depth == 0) {
    misuse(loop, "cw_macrotask_end", file, line, "no macrotask was begun");
    return;
  }
  if (--loop->depth == 0) {
    drain(loop);
    loop->phase = CW_PHASE_NONE;
  }
}

/* Work queued outside any macrotask (from a plain libuv callback, or before
 * cw_run) is drained at the next check phase: wake the loop for it. */
void loop_wake(cw_loop *loop) {
  if (loop->depth == 0 && !loop->draining)
    start_idle(loop);
}

void enqueue_job(cw_loop *loop, cw_fn fn, void *arg) {
  job_queue_push(&loop->microtasks, fn, arg);
  if (loop->depth == 0)
    loop_wake(loop);
}

void drain(cw_loop *loop) {
  if (loop->draining)
    return;
  loop->draining = true;
  job j;
  do {
    loop->phase = CW_PHASE_TICK;
    while (job_queue_pop(&loop->ticks, &j))
      j.fn(j.arg);
    loop->phase = CW_PHASE_MICROTASK;
    while (job_queue_pop(&loop->microtasks, &j))
      j.fn(j.arg);
  } while (loop->ticks.count || ((loop->unhandled_len || loop->late_len) && rejections_process(loop)));
  loop->draining = false;
}

void cw_next_tick_at(cw_loop *loop, cw_fn fn, void *arg, const char *file, int line) {
  if (!loop || !fn) {
    misuse(loop, "cw_next_tick", file, line, "the %s is NULL", loop ? "function" : "loop");
    return;
  }
  job_queue_push(&loop->ticks, fn, arg);
  loop_wake(loop);
}

void cw_queue_microtask_at(cw_loop *loop, cw_fn fn, void *arg, const char *file, int line) {
  if (!loop || !fn) {
    misuse(loop, "cw_queue_microtask", file, line, "the %s is NULL", loop ? "function" : "loop");
    return;
  }
  enqueue_job(loop, fn, arg);
}
