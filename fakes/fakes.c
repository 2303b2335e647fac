/* The fake backend: operations start here, get their plan from the rules,
 * and wait in a schedule of events ordered by virtual deadline.
 *
 * Delivery. One uv_timer_t, armed at the first deadline, carries the
 * schedule: libuv's poll timeout then covers the fakes' deadlines, so the
 * virtual clock jumps to them like to any timer, and the same code runs on
 * real time. When it fires (timers phase) the events due run in order;
 * they complete operations with cw_io_complete_soon, which the port
 * delivers in the poll phase of the same turn, each as its own macrotask,
 * as a real completion would be. Events scheduled while the due ones run
 * wait for the next turn, as work started from a callback does. */
#include "fakes_internal.h"

#include "clockwork/concurrency.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the schedule: a binary heap of events by (deadline, order) ---------------- */

static bool sooner(const fake_event *a, const fake_event *b) {
  return a->deadline != b->deadline ? a->deadline < b->deadline : a->order < b->order;
}

static void place(fakes *f, fake_event *e, size_t i) {
  f->schedule[i] = e;
  e->index = i;
}

static void sift_up(fakes *f, size_t i) {
  fake_event *e = f->schedule[i];
  while (i > 0 && sooner(e, f->schedule[(i - 1) / 2])) {
    place(f, f->schedule[(i - 1) / 2], i);
    i = (i - 1) / 2;
  }
  place(f, e, i);
}

static void sift_down(fakes *f, size_t i) {
  fake_event *e = f->schedule[i];
  for (;;) {
    size_t child = 2 * i + 1;
    if (child >= f->len)
      break;
    if (child + 1 < f->len && sooner(f->schedule[child + 1], f->schedule[child]))
      child++;
    if (!sooner(f->schedule[child], e))
      break;
    place(f, f->schedule[child], i);
    i = child;
  }
  place(f, e, i);
}

uint64_t fakes_now(const fakes *f) { return clock_now_ns(f->h); }

/* The timer follows the first deadline; it keeps the loop alive only while
 * events wait (a hung operation does not). */
static void on_timer(uv_timer_t *timer);

static void rearm(fakes *f) {
  if (!f->len) {
    uv_timer_stop(&f->timer);
    return;
  }
  /* from the loop's time, as libuv counts: it stays as the turn began */
  uv_loop_t *uv = cw_loop_uv(f->loop);
  uint64_t now = clock_of_loop_ms(f->h, uv_now(uv)), first = f->schedule[0]->deadline;
  uv_timer_start(&f->timer, on_timer, first > now ? (first - now + FAKE_MS - 1) / FAKE_MS : 0, 0);
}

void fakes_schedule(fakes *f, fake_event *e, uint64_t deadline, fake_event_fn fn) {
  if (f->len == f->cap) {
    f->cap = f->cap ? 2 * f->cap : 64;
    f->schedule = realloc(f->schedule, f->cap * sizeof *f->schedule);
    if (!f->schedule) {
      fprintf(stderr, "clockwork: out of memory scheduling a fake completion\n");
      abort();
    }
  }
  uint64_t now = fakes_now(f);
  e->deadline = deadline > now ? deadline : now;
  e->issued = ++f->issued;
  e->order = f->h->opts.shuffle ? cw_random(f->loop) : e->issued;
  e->fn = fn;
  f->len++;
  place(f, e, f->len - 1);
  sift_up(f, f->len - 1);
  if (e->index == 0)
    rearm(f);
}

void fakes_unschedule(fakes *f, fake_event *e) {
  if (!fakes_scheduled(e))
    return;
  size_t i = e->index;
  e->index = SIZE_MAX;
  fake_event *last = f->schedule[--f->len];
  if (i < f->len) {
    place(f, last, i);
    sift_up(f, i);
    sift_down(f, last->index);
  }
  if (i == 0)
    rearm(f);
}

static fake_event *take_first(fakes *f) {
  fake_event *e = f->schedule[0];
  e->index = SIZE_MAX;
  if (--f->len) {
    place(f, f->schedule[f->len], 0);
    sift_down(f, 0);
  }
  return e;
}

/* The events due now that were scheduled before this turn, in order. */
static void on_timer(uv_timer_t *timer) {
  fakes *f = timer->data;
  uint64_t now = fakes_now(f), turn = f->issued;
  while (f->len && f->schedule[0]->deadline <= now && f->schedule[0]->issued <= turn) {
    fake_event *e = take_first(f);
    e->fn(f, e);
  }
  rearm(f);
}

/* ---- operations ------------------------------------------------------------------ */

/* The probes' and the sweep's hooks, before the port may free op. */
static void completed(fakes *f, cw_io_op *op, intptr_t result) {
  probe_op_completed(f->h, op, result);
  if (f->after_complete)
    f->after_complete(f, op, f->after_complete_arg);
}

void fakes_complete(fakes *f, cw_io_op *op, intptr_t result, void *value) {
  completed(f, op, result);
  cw_io_complete_soon(op, result, value);
}

void fakes_complete_now(fakes *f, cw_io_op *op, intptr_t result) {
  completed(f, op, result);
  cw_io_complete(op, result, NULL);
}

/* Finished operations' records wait in f->spare_ops for the next ones. */
static void op_free(fakes *f, fake_op *o) {
  o->next_spare = f->spare_ops;
  f->spare_ops = o;
}

static void op_due(fakes *f, fake_event *e) {
  fake_op *o = (fake_op *)e;
  cw_io_op *op = o->op;
  op->backend_data = NULL;
  bool failing = o->plan.fault.kind == CW_FAULT_ERROR || o->plan.fault.kind == CW_FAULT_RESET;
  if (failing && op->kind != CW_OP_FS_CLOSE)
    fakes_complete(f, op, o->plan.fault.code, NULL);
  else
    o->perform(f, o);
  op_free(f, o);
}

void fakes_run_op(fakes *f, cw_io_op *op, fake_plan plan, fake_perform_fn perform) {
  fake_op *o = f->spare_ops;
  if (o)
    f->spare_ops = o->next_spare;
  else if (!(o = malloc(sizeof *o))) {
    fakes_complete(f, op, UV_ENOMEM, NULL);
    return;
  }
  *o = (fake_op){.op = op, .plan = plan, .perform = perform};
  o->event.index = SIZE_MAX;
  op->backend_data = o;
  if (plan.fault.kind != CW_FAULT_HANG)
    fakes_schedule(f, &o->event, fakes_now(f) + plan.latency, op_due);
}

void fakes_cancel_op(fakes *f, cw_io_op *op) {
  fake_op *o = op->backend_data;
  if (!o)
    return; /* completed already, delivery pending */
  fakes_unschedule(f, &o->event);
  op->backend_data = NULL;
  op_free(f, o);
  fakes_complete(f, op, UV_ECANCELED, NULL);
}

/* work.run: fn runs on the loop's thread at the deadline, not on the
 * threadpool: deterministic, and what it returns fulfils the promise. */
static void perform_work(fakes *f, fake_op *o) {
  fakes_complete(f, o->op, 0, o->op->work(o->op->work_arg));
}

static bool is_net(cw_op_kind kind) { return kind >= CW_OP_NET_CONNECT && kind <= CW_OP_NET_CLOSE; }

static void submit(void *ctx, cw_io_op *op) {
  fakes *f = ctx;
  probe_op_started(f->h, op);
  fake_plan plan = rules_plan(f, op);
  if (is_net(op->kind))
    net_submit(f, op, plan);
  else if (op->kind == CW_OP_DNS_RESOLVE)
    dns_submit(f, op, plan);
  else if (op->kind == CW_OP_WORK_RUN)
    fakes_run_op(f, op, plan, perform_work);
  else
    fs_submit(f, op, plan);
}

static void cancel(void *ctx, cw_io_op *op) {
  fakes *f = ctx;
  if (is_net(op->kind))
    net_cancel(f, op);
  else
    fakes_cancel_op(f, op);
}

/* ---- the fakes' life ----------------------------------------------------------------- */

fakes *fakes_new(cw_harness *h) {
  fakes *f = calloc(1, sizeof *f);
  if (!f)
    return NULL;
  f->h = h;
  f->loop = h->loop;
  f->backend = (cw_io_backend){submit, cancel, f};
  uv_timer_init(cw_loop_uv(f->loop), &f->timer);
  f->timer.data = f;
  cw_loop_set_io(f->loop, &f->backend);
  return f;
}

void fakes_teardown(fakes *f) {
  if (!f)
    return;
  fs_teardown(f);
  net_teardown(f);
}

void fakes_close(fakes *f) {
  if (f)
    uv_close((uv_handle_t *)&f->timer, NULL);
}

void fakes_destroy(fakes *f) {
  if (!f)
    return;
  fs_destroy(f);
  net_destroy(f);
  dns_destroy(f);
  rules_destroy(f);
  while (f->spare_ops) {
    fake_op *o = f->spare_ops;
    f->spare_ops = o->next_spare;
    free(o);
  }
  free(f->schedule);
  free(f);
}

fakes *fakes_of(cw_harness *h, const char *function, const char *file, int line) {
  if (!h) {
    fakes_misuse(function, file, line, "h is NULL");
    return NULL;
  }
  if (!h->fakes)
    cw_harness_fail_at(h, file, line, "%s: this harness has no fakes (opts.real_io is set)", function);
  return h->fakes;
}

void fakes_misuse(const char *function, const char *file, int line, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "clockwork: misuse of %s at %s:%d: ", function, file, line);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

bool fakes_owns_handle(const cw_harness *h, const uv_handle_t *handle) {
  return h->fakes && handle == (const uv_handle_t *)&h->fakes->timer;
}

double fakes_uniform(fakes *f) { return (double)(cw_random(f->loop) >> 11) * 0x1.0p-53; }

void fakes_fail(fakes *f, const char *file, int line, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  harness_failv(f->h, file, line, fmt, ap);
  va_end(ap);
}
