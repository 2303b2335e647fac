/* The harness object: its loop on virtual time, its seed, failures, and the
 * checks at teardown that turn leaks of async work into failing tests. */
#define _GNU_SOURCE /* vasprintf */
#include "harness_internal.h"

#include "clockwork/concurrency.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

cw_harness *harness_current;

static void fail_default(void *arg, const char *message) {
  (void)arg;
  fprintf(stderr, "%s\n", message);
  exit(1);
}

void harness_failv(cw_harness *h, const char *file, int line, const char *fmt, va_list ap) {
  char *body = NULL, *message = NULL;
  h->failures++;
  if (vasprintf(&body, fmt, ap) < 0 ||
      asprintf(&message, "%s:%d: %s\n  (seed %" PRIu64 ": CW_SEED=%" PRIu64 " replays this run)", file, line, body,
               h->seed, h->seed) < 0) {
    h->opts.fail(h->opts.fail_arg, "clockwork: out of memory formatting a failure");
  } else {
    h->opts.fail(h->opts.fail_arg, message);
  }
  free(body);
  free(message);
}

void cw_harness_fail_at(cw_harness *h, const char *file, int line, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  harness_failv(h, file, line, fmt, ap);
  va_end(ap);
}

static void failf(cw_harness *h, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void failf(cw_harness *h, const char *file, int line, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  harness_failv(h, file, line, fmt, ap);
  va_end(ap);
}

/* Misuse of the API during a test is a failure of the test. */
static void on_misuse(void *arg, const cw_misuse *m) {
  cw_harness *h = arg;
  if (!h->tearing_down)
    failf(h, m->file, m->line, "misuse of %s: %s", m->function, m->message);
}

static void on_unhandled(void *arg, const cw_rejection *r) {
  cw_harness *h = arg;
  if (r->handled_late)
    return; /* the rejection itself is reported at teardown */
  if (h->unhandled_len == h->unhandled_cap) {
    size_t cap = h->unhandled_cap ? 2 * h->unhandled_cap : 8;
    cw_rejection *grown = realloc(h->unhandled, cap * sizeof *grown);
    if (!grown) {
      failf(h, r->created_file, r->created_line, "out of memory recording an unhandled rejection");
      return;
    }
    h->unhandled = grown;
    h->unhandled_cap = cap;
  }
  h->unhandled[h->unhandled_len++] = *r;
}

static uint64_t seed_of(const cw_harness_opts *opts) {
  if (opts->seed)
    return opts->seed;
  const char *env = getenv("CW_SEED");
  if (env && *env) {
    char *end;
    unsigned long long seed = strtoull(env, &end, 0);
    if (*end == '\0')
      return seed;
    fprintf(stderr, "clockwork: CW_SEED=%s is not a number; using seed 1\n", env);
  }
  return 1;
}

cw_harness *cw_harness_new(const cw_harness_opts *opts) {
  if (harness_current) {
    fprintf(stderr, "clockwork: cw_harness_new: a harness exists already (one per process)\n");
    return NULL;
  }
  cw_harness *h = calloc(1, sizeof *h);
  if (!h)
    return NULL;
  if (opts)
    h->opts = *opts;
  if (!h->opts.fail)
    h->opts.fail = fail_default;
  if (!h->opts.start_unix_ms)
    h->opts.start_unix_ms = 1767225600000; /* 2026-01-01T00:00:00Z */
  if (!h->opts.max_timer_firings)
    h->opts.max_timer_firings = 100000;
  if (!h->opts.max_jobs_per_drain)
    h->opts.max_jobs_per_drain = 10000000;
  h->seed = seed_of(&h->opts);
  harness_current = h;
  clock_start(h); /* before the loop: libuv reads the clock as it starts */
  h->loop = cw_loop_new();
  if (!h->loop) {
    clock_stop(h);
    harness_current = NULL;
    free(h);
    return NULL;
  }
  cw_loop_seed(h->loop, h->seed);
  cw_loop_set_job_limit(h->loop, h->opts.max_jobs_per_drain);
  cw_on_unhandled(h->loop, on_unhandled, h);
  cw_on_misuse(on_misuse, h);
  blocking_install(h);
  if (!h->opts.real_io && !(h->fakes = fakes_new(h))) {
    cw_harness_free_at(h, __FILE__, __LINE__);
    return NULL;
  }
  if (!trace_init(h)) {
    cw_harness_free_at(h, __FILE__, __LINE__);
    return NULL;
  }
  return h;
}

cw_loop *cw_harness_loop(cw_harness *h) { return h ? h->loop : NULL; }
uint64_t cw_harness_seed(const cw_harness *h) { return h ? h->seed : 0; }
unsigned cw_harness_failures(const cw_harness *h) { return h ? h->failures : 0; }

int cw_harness_run(cw_harness *h, cw_fn main, void *arg) {
  size_t unhandled = h->unhandled_len;
  clock_run_begin(h);
  int rc = cw_run(h->loop, main, arg);
  bool clock_guard = clock_run_end(h); /* it reported its failure already */
  if (rc == CW_ELIMIT)
    failf(h, __FILE__, __LINE__, "%s", cw_loop_guard_message(h->loop));
  if (clock_guard && rc == 0)
    rc = CW_ELIMIT;
  if (rc == 0 && h->unhandled_len > unhandled && !(h->opts.allow & CW_ALLOW_UNHANDLED))
    rc = CW_EUNHANDLED;
  return rc;
}

/* ---- teardown ------------------------------------------------------------------ */

typedef struct {
  cw_harness *h;
  const char *file;
  int line;
} teardown;

static void fail_floating(void *arg, const char *file, int line, cw_state state, unsigned refs) {
  teardown *t = arg;
  failf(t->h, t->file, t->line, "floating promise created at %s:%d (%s, %u reference%s never consumed)", file, line,
        state == CW_PENDING ? "pending" : state == CW_FULFILLED ? "fulfilled" : "rejected", refs,
        refs == 1 ? "" : "s");
}

static void fail_timer(void *arg, const cw_timer_info *timer) {
  teardown *t = arg;
  failf(t->h, t->file, t->line, "%s created at %s:%d still armed (no timers may leak from a test)", timer->kind,
        timer->file, timer->line);
}

static void fail_handle(uv_handle_t *handle, void *arg) {
  teardown *t = arg;
  if (cw_loop_owns_handle(t->h->loop, handle) || fakes_owns_handle(t->h, handle) || uv_is_closing(handle) ||
      !uv_is_active(handle))
    return;
  failf(t->h, t->file, t->line, "libuv %s handle %p still active (close it before the test ends)",
        uv_handle_type_name(uv_handle_get_type(handle)), (void *)handle);
}

static void fail_task(void *arg, const char *file, int line, const char *await_file, int await_line) {
  teardown *t = arg;
  failf(t->h, t->file, t->line, "task spawned at %s:%d still suspended at %s:%d", file, line,
        await_file ? await_file : "?", await_line);
}

void cw_harness_free_at(cw_harness *h, const char *file, int line) {
  if (!h)
    return;
  teardown t = {h, file, line};
  unsigned allow = h->opts.allow;
  if (!(allow & CW_ALLOW_UNHANDLED))
    for (size_t i = 0; i < h->unhandled_len; i++) {
      const cw_rejection *r = &h->unhandled[i];
      failf(h, file, line, "unhandled rejection %s (%s) of the promise created at %s:%d, rejected at %s:%d",
            cw_err_name(r->error), cw_strerror(r->error), r->created_file, r->created_line,
            r->rejected_file ? r->rejected_file : "?", r->rejected_line);
    }
  if (!(allow & CW_ALLOW_FLOATING))
    cw_loop_floating(h->loop, fail_floating, &t);
  if (!(allow & CW_ALLOW_TIMERS)) {
    cw_loop_timers(h->loop, fail_timer, &t);
    uv_walk(cw_loop_uv(h->loop), fail_handle, &t);
  }
  if (!(allow & CW_ALLOW_TASKS))
    cw_loop_tasks(h->loop, fail_task, &t);
  fakes_teardown(h->fakes);
  /* every harness of the process adds its trace to $CW_TRACE */
  static bool trace_written;
  const char *path = getenv("CW_TRACE");
  if (path && *path && h->trace) {
    int rc = trace_write_json(h, path, trace_written);
    trace_written = true;
    if (rc < 0)
      failf(h, file, line, "CW_TRACE=%s: %s", path, uv_strerror(rc));
  }
  h->tearing_down = true; /* what cw_loop_free reports was checked above */
  fakes_close(h->fakes);
  cw_loop_free(h->loop);
  fakes_destroy(h->fakes);
  cw_on_misuse(NULL, NULL);
  trace_destroy(h);
  clock_stop(h);
  harness_current = NULL;
  free(h->unhandled);
  free(h);
}
