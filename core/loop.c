/* The loop: lifecycle, macrotasks and the drain after each of them, as
 * Node's processTicksAndRejections. */
#include "core_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static cw_loop *loop_setup(cw_loop *loop, uv_loop_t *uv) {
  loop->uv = uv;
  job_queue_init(&loop->ticks, &loop->blocks);
  job_queue_init(&loop->microtasks, &loop->blocks);
  pool_init(&loop->promises, sizeof(cw_promise), &loop->blocks);
  pool_init(&loop->reactions, sizeof(reaction), &loop->blocks);
  pool_init(&loop->timers, timer_size(), &loop->blocks);
  sites_init(&loop->sites);
  pool_init_plain(&loop->lists, timer_list_size(), &loop->blocks);
  pool_init(&loop->tasks, task_size(), &loop->blocks);
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

/* A reference never consumed is a misuse of the ownership rules: reported
 * as one, at the site that created the promise. */
static void report_floating(void *arg, const char *file, int line, cw_state state, unsigned refs) {
  cw_loop *loop = arg;
  misuse(loop, "cw_loop_free", file, line, "floating promise created here (%s, %u reference%s never consumed)",
         state == CW_PENDING ? "pending" : state == CW_FULFILLED ? "fulfilled" : "rejected", refs,
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
  cw_loop_floating(loop, report_floating, loop);
  tasks_destroy(loop);
  timers_destroy(loop);
  io_destroy(loop); /* after timers_destroy: it runs the uv loop, where no core timer may fire */
  rejections_destroy(loop);
  job_queue_destroy(&loop->ticks);
  job_queue_destroy(&loop->microtasks);
  pool_destroy(&loop->promises);
  pool_destroy(&loop->reactions);
  pool_destroy(&loop->timers);
  sites_destroy(&loop->sites);
  pool_destroy(&loop->lists);
  pool_destroy(&loop->tasks);
  blocks_destroy(&loop->blocks); /* after all that gives blocks back */
  free(loop->doomed);
  free(loop->guard_message);
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
  loop->stopped = 0;
  macrotask_begin(loop, CW_PHASE_MAIN, main, file, line);
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
    return loop->stopped;
  return loop->misuses != misuses ? CW_EMISUSE : 0;
}

void cw_loop_set_job_limit(cw_loop *loop, size_t max_jobs) {
  if (loop)
    loop->job_limit = max_jobs;
}

const char *cw_loop_guard_message(const cw_loop *loop) { return loop ? loop->guard_message : NULL; }

uint64_t cw_loop_macrotask_count(const cw_loop *loop) { return loop ? loop->macrotasks : 0; }

bool cw_loop_owns_handle(const cw_loop *loop, const uv_handle_t *handle) {
  const loop_handles *h = loop ? loop->handles : NULL;
  return h && (handle == (const uv_handle_t *)&h->timer || handle == (const uv_handle_t *)&h->check ||
               handle == (const uv_handle_t *)&h->idle);
}

void cw_loop_set_timer_advance(cw_loop *loop, cw_timer_advance_fn fn, void *arg) {
  if (loop) {
    loop->advance = fn;
    loop->advance_arg = arg;
  }
}

cw_phase cw_loop_phase(const cw_loop *loop) { return loop ? loop->phase : CW_PHASE_NONE; }

const char *cw_phase_name(cw_phase phase) {
  static const char *const names[] = {"none",  "main",  "timers", "pending",  "poll",
                                      "check", "close", "tick",   "microtask"};
  return (unsigned)phase < sizeof names / sizeof names[0] ? names[phase] : "unknown";
}

void cw_on_macrotask(cw_loop *loop, cw_macrotask_fn fn, void *arg) {
  if (!loop) {
    misuse(NULL, "cw_on_macrotask", NULL, 0, "the loop is NULL");
    return;
  }
  loop->on_macrotask = fn;
  loop->on_macrotask_arg = arg;
}

/* Wall time, which the harness leaves real. */
static uint64_t raw_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void macrotask_begin(cw_loop *loop, cw_phase phase, cw_fn callback, const char *file, int line) {
  if (!loop) {
    misuse(NULL, "cw_macrotask_begin", file, line, "the loop is NULL");
    return;
  }
  if (loop->depth++ == 0) {
    loop->phase = phase;
    loop->macrotasks++;
    loop->timing = loop->on_macrotask != NULL;
    if (loop->timing)
      loop->timed = (cw_macrotask_info){phase, callback, file, line, raw_ns(), 0};
  }
}

void cw_macrotask_begin_at(cw_loop *loop, cw_phase phase, const char *file, int line) {
  macrotask_begin(loop, phase, NULL, file, line);
}

/* The hook learns of a timed macrotask (if it was not removed meanwhile). */
static void macrotask_timed(cw_loop *loop) {
  cw_macrotask_info info = loop->timed;
  info.end_ns = raw_ns();
  loop->timing = false;
  if (loop->on_macrotask)
    loop->on_macrotask(loop->on_macrotask_arg, &info);
}

void cw_macrotask_end_at(cw_loop *loop, const char *file, int line) {
  if (!loop || loop->depth == 0) {
    misuse(loop, "cw_macrotask_end", file, line, "no macrotask was begun");
    return;
  }
  if (--loop->depth == 0) {
    drain(loop);
    loop->phase = CW_PHASE_NONE;
    if (loop->timing)
      macrotask_timed(loop);
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

void loop_stop(cw_loop *loop, int code) {
  if (!loop->stopped)
    loop->stopped = code;
  if (loop->in_uv_run)
    uv_stop(loop->uv);
}

/* The loop guard: a drain that never ends is reported with the callbacks
 * that keep queueing, and stops the run instead of hanging. */
static void guard_trip(cw_loop *loop, size_t jobs) {
  enum { TOP = 5 };
  struct { void *fn; size_t count; } top[TOP] = {{0}};
  const job_queue *queues[] = {&loop->ticks, &loop->microtasks};
  for (int q = 0; q < 2; q++)
    for (size_t i = 0; i < queues[q]->count; i++) {
      void *fn = job_callback(&queues[q]->ring[(queues[q]->head + i) & (queues[q]->cap - 1)]);
      int k = 0;
      while (k < TOP && top[k].fn && top[k].fn != fn)
        k++;
      if (k < TOP) {
        top[k].fn = fn;
        top[k].count++;
      }
    }
  char msg[1024], name[256];
  int n = snprintf(msg, sizeof msg, "loop guard: one drain ran %zu jobs and they keep coming; queued now:", jobs);
  for (int k = 0; k < TOP && top[k].fn && n < (int)sizeof msg; k++)
    n += snprintf(msg + n, sizeof msg - (size_t)n, "%s %s x%zu", k ? "," : "",
                  cw__describe_fn(top[k].fn, name, sizeof name), top[k].count);
  free(loop->guard_message);
  loop->guard_message = strdup(msg);
  fprintf(stderr, "clockwork: %s\n", msg);
  loop_stop(loop, CW_ELIMIT);
}

void drain(cw_loop *loop) {
  if (loop->draining || loop->stopped)
    return;
  loop->draining = true;
  size_t jobs = 0, limit = loop->job_limit ? loop->job_limit : SIZE_MAX;
  job j;
  do {
    loop->phase = CW_PHASE_TICK;
    while (jobs < limit && job_queue_pop(&loop->ticks, &j)) {
      jobs++;
      j.fn(j.arg);
    }
    loop->phase = CW_PHASE_MICROTASK;
    while (jobs < limit && job_queue_pop(&loop->microtasks, &j)) {
      jobs++;
      j.fn(j.arg);
    }
    if (jobs >= limit && (loop->ticks.count || loop->microtasks.count)) {
      guard_trip(loop, jobs);
      break;
    }
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
