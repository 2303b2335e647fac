/* Timeouts and intervals on one libuv timer (a heap of our own, so that a
 * timer created during the timers phase always waits for a later turn, as
 * in Node), and immediates on a check handle. */
#include "core_internal.h"

#include <stdlib.h>

typedef enum { T_TIMEOUT, T_INTERVAL, T_IMMEDIATE } timer_kind;
static const char *const kind_names[] = {"timeout", "interval", "immediate"};

struct cw_timer {
  pool_obj hdr;
  cw_loop *loop;
  cw_fn fn;
  void *arg;
  timer_kind kind;
  bool running;  /* its callback is on the stack */
  bool cleared;  /* cleared while running */
  uint64_t deadline;
  uint64_t repeat;
  uint64_t seq;  /* creation order: ties on deadline, and the immediates of one turn */
  size_t heap_index;
  cw_timer *next, *prev; /* immediates */
  const char *file;
  int line;
};

size_t timer_size(void) { return sizeof(cw_timer); }

/* ---- the heap, by (deadline, seq) ---------------------------------------- */

static bool earlier(const cw_timer *a, const cw_timer *b) {
  return a->deadline < b->deadline || (a->deadline == b->deadline && a->seq < b->seq);
}

static void heap_set(cw_loop *loop, size_t i, cw_timer *t) {
  loop->heap[i] = t;
  t->heap_index = i;
}

static void sift_up(cw_loop *loop, size_t i) {
  cw_timer *t = loop->heap[i];
  while (i > 0 && earlier(t, loop->heap[(i - 1) / 2])) {
    heap_set(loop, i, loop->heap[(i - 1) / 2]);
    i = (i - 1) / 2;
  }
  heap_set(loop, i, t);
}

static void sift_down(cw_loop *loop, size_t i) {
  cw_timer *t = loop->heap[i];
  for (;;) {
    size_t child = 2 * i + 1;
    if (child >= loop->heap_len)
      break;
    if (child + 1 < loop->heap_len && earlier(loop->heap[child + 1], loop->heap[child]))
      child++;
    if (!earlier(loop->heap[child], t))
      break;
    heap_set(loop, i, loop->heap[child]);
    i = child;
  }
  heap_set(loop, i, t);
}

static void heap_push(cw_loop *loop, cw_timer *t) {
  grow_array((void **)&loop->heap, &loop->heap_cap, loop->heap_len + 1, sizeof *loop->heap);
  loop->heap[loop->heap_len++] = t;
  sift_up(loop, loop->heap_len - 1);
}

static void heap_remove(cw_loop *loop, size_t i) {
  cw_timer *last = loop->heap[--loop->heap_len];
  if (i == loop->heap_len)
    return;
  heap_set(loop, i, last);
  sift_down(loop, i);
  sift_up(loop, last->heap_index);
}

/* ---- the libuv side ---------------------------------------------------- */

static uint64_t now_ms(cw_loop *loop) {
  uv_update_time(loop->uv); /* as Node's getLibuvNow: a timer counts from its creation */
  return uv_now(loop->uv);
}

static void on_timer(uv_timer_t *handle);

/* Points the libuv timer at the earliest deadline. Inside the timers phase
 * it must not come due again in the same pass (libuv 1.44 re-checks its
 * heap after every callback), so it waits at least 1 ms there. */
static void arm(cw_loop *loop) {
  uv_timer_t *handle = &loop->handles->timer;
  if (loop->heap_len == 0) {
    uv_timer_stop(handle);
    return;
  }
  uint64_t now = uv_now(loop->uv), deadline = loop->heap[0]->deadline;
  uint64_t wait = deadline > now ? deadline - now : loop->in_timers ? 1 : 0;
  uv_timer_start(handle, on_timer, wait, 0);
}

static void release_timer(cw_loop *loop, cw_timer *t) { pool_free(&loop->timers, t); }

static void run_callback(cw_loop *loop, cw_timer *t, cw_phase phase) {
  t->running = true;
  cw_macrotask_begin_at(loop, phase, t->file, t->line);
  t->fn(t->arg);
  cw_macrotask_end_at(loop, t->file, t->line);
  t->running = false;
}

/* The timers phase: every timer due when it began, in (deadline, seq)
 * order, with the queues drained after each. */
static void on_timer(uv_timer_t *handle) {
  loop_handles *h = handle->data;
  cw_loop *loop = h->loop;
  uint64_t now = uv_now(loop->uv);
  loop->in_timers = true;
  while (loop->heap_len && !loop->stopped && loop->heap[0]->deadline <= now) {
    cw_timer *t = loop->heap[0];
    heap_remove(loop, 0);
    uint64_t start = t->kind == T_INTERVAL ? now_ms(loop) : 0;
    run_callback(loop, t, CW_PHASE_TIMERS);
    if (t->kind == T_INTERVAL && !t->cleared) {
      t->deadline = start + t->repeat; /* re-armed after its callback */
      t->seq = loop->timer_seq++;
      heap_push(loop, t);
    } else {
      release_timer(loop, t);
    }
  }
  loop->in_timers = false;
  arm(loop);
}

static void on_idle(uv_idle_t *idle) { (void)idle; }

void start_idle(cw_loop *loop) {
  if (!loop->idle_active) {
    uv_idle_start(&loop->handles->idle, on_idle);
    loop->idle_active = true;
  }
}

static void stop_idle(cw_loop *loop) {
  if (loop->idle_active) {
    uv_idle_stop(&loop->handles->idle);
    loop->idle_active = false;
  }
}

static bool stray_work(const cw_loop *loop) {
  return loop->ticks.count || loop->microtasks.count || loop->unhandled_len || loop->late_len;
}

/* The check phase: work queued outside any macrotask, then the immediates
 * queued before this phase began (later ones wait for the next turn). */
static void on_check(uv_check_t *check) {
  loop_handles *h = check->data;
  cw_loop *loop = h->loop;
  if (loop->depth == 0 && stray_work(loop)) {
    cw_macrotask_begin_at(loop, CW_PHASE_CHECK, __FILE__, __LINE__);
    cw_macrotask_end_at(loop, __FILE__, __LINE__);
  }
  uint64_t limit = loop->imm_seq;
  while (loop->imm_head && loop->imm_head->seq < limit && !loop->stopped) {
    cw_timer *t = loop->imm_head;
    loop->imm_head = t->next;
    if (loop->imm_head)
      loop->imm_head->prev = NULL;
    else
      loop->imm_tail = NULL;
    run_callback(loop, t, CW_PHASE_CHECK);
    release_timer(loop, t);
  }
  if (!loop->imm_head)
    stop_idle(loop);
}

static void on_closed(uv_handle_t *handle) {
  loop_handles *h = handle->data;
  if (--h->open == 0)
    free(h);
}

void timers_init(cw_loop *loop) {
  loop_handles *h = xmalloc(sizeof *h);
  h->loop = loop;
  h->open = 3;
  uv_timer_init(loop->uv, &h->timer);
  uv_check_init(loop->uv, &h->check);
  uv_idle_init(loop->uv, &h->idle);
  h->timer.data = h->check.data = h->idle.data = h;
  uv_check_start(&h->check, on_check);
  uv_unref((uv_handle_t *)&h->check);
  loop->handles = h;
}

void timers_destroy(cw_loop *loop) {
  loop_handles *h = loop->handles;
  h->loop = NULL;
  uv_close((uv_handle_t *)&h->timer, on_closed);
  uv_close((uv_handle_t *)&h->check, on_closed);
  uv_close((uv_handle_t *)&h->idle, on_closed);
  free(loop->heap);
}

/* ---- the public API ---------------------------------------------------- */

static cw_timer *timer_new(cw_loop *loop, timer_kind kind, cw_fn fn, void *arg, const char *function,
                           const char *file, int line) {
  if (!loop || !fn) {
    misuse(loop, function, file, line, "the %s is NULL", loop ? "function" : "loop");
    return NULL;
  }
  cw_timer *t = pool_alloc(&loop->timers);
  t->loop = loop;
  t->fn = fn;
  t->arg = arg;
  t->kind = kind;
  t->running = t->cleared = false;
  t->deadline = t->repeat = 0;
  t->next = t->prev = NULL;
  t->file = file;
  t->line = line;
  return t;
}

static cw_timer *start_timer(cw_loop *loop, timer_kind kind, uint64_t ms, cw_fn fn, void *arg,
                             const char *function, const char *file, int line) {
  cw_timer *t = timer_new(loop, kind, fn, arg, function, file, line);
  if (!t)
    return NULL;
  if (ms < 1)
    ms = 1;
  t->deadline = now_ms(loop) + ms;
  t->repeat = kind == T_INTERVAL ? ms : 0;
  t->seq = loop->timer_seq++;
  heap_push(loop, t);
  if (loop->heap[0] == t)
    arm(loop);
  return pool_handle(&loop->timers, t);
}

cw_timer *cw_set_timeout_at(cw_loop *loop, uint64_t ms, cw_fn fn, void *arg, const char *file, int line) {
  return start_timer(loop, T_TIMEOUT, ms, fn, arg, "cw_set_timeout", file, line);
}

cw_timer *cw_set_interval_at(cw_loop *loop, uint64_t ms, cw_fn fn, void *arg, const char *file, int line) {
  return start_timer(loop, T_INTERVAL, ms, fn, arg, "cw_set_interval", file, line);
}

cw_timer *cw_set_immediate_at(cw_loop *loop, cw_fn fn, void *arg, const char *file, int line) {
  cw_timer *t = timer_new(loop, T_IMMEDIATE, fn, arg, "cw_set_immediate", file, line);
  if (!t)
    return NULL;
  t->seq = loop->imm_seq++;
  t->prev = loop->imm_tail;
  if (loop->imm_tail)
    loop->imm_tail->next = t;
  else
    loop->imm_head = t;
  loop->imm_tail = t;
  start_idle(loop);
  return pool_handle(&loop->timers, t);
}

void cw_clear(cw_timer *handle) {
  cw_timer *t = handle ? pool_object(handle) : NULL;
  if (!t) /* NULL, fired or already cleared: nothing to do, as clearTimeout */
    return;
  cw_loop *loop = t->loop;
  if (t->running) {
    t->cleared = true; /* released when its callback returns */
    return;
  }
  if (t->kind == T_IMMEDIATE) {
    if (t->prev)
      t->prev->next = t->next;
    else
      loop->imm_head = t->next;
    if (t->next)
      t->next->prev = t->prev;
    else
      loop->imm_tail = t->prev;
    if (!loop->imm_head && !stray_work(loop))
      stop_idle(loop);
  } else {
    bool was_first = t->heap_index == 0;
    heap_remove(loop, t->heap_index);
    if (was_first && !loop->in_timers)
      arm(loop);
  }
  release_timer(loop, t);
}

size_t cw_loop_timers(cw_loop *loop, cw_timer_visit_fn fn, void *arg) {
  if (!loop) {
    misuse(NULL, "cw_loop_timers", NULL, 0, "the loop is NULL");
    return 0;
  }
  size_t n = 0;
  for (size_t i = 0; i < loop->heap_len; i++, n++)
    if (fn)
      fn(arg, kind_names[loop->heap[i]->kind], loop->heap[i]->file, loop->heap[i]->line);
  for (cw_timer *t = loop->imm_head; t; t = t->next, n++)
    if (fn)
      fn(arg, kind_names[t->kind], t->file, t->line);
  return n;
}
