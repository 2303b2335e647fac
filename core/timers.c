/* Timeouts and intervals on one libuv timer, organised as Node organises
 * them (so that their order is Node's, and a timer created during the timers
 * phase always waits for a later turn), and immediates on a check handle. */
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
  bool running; /* its callback is on the stack */
  bool cleared; /* cleared while running */
  bool unrefed; /* does not keep the loop alive (Node's timer.unref()) */
  uint64_t start;  /* when it was (re-)armed */
  uint64_t repeat; /* intervals: the period */
  uint64_t seq;    /* immediates: creation order */
  timer_list *list;
  cw_timer *next, *prev; /* in its list, or among the immediates */
  const char *file;
  int line;
};

/* As Node's lib/internal/timers.js: one list per duration, in insertion
 * order, and a priority queue of lists by (expiry, id). A list runs its
 * timers in order and stops at the first one not yet due, so a timer never
 * overtakes an earlier one of the same duration. */
struct timer_list {
  pool_obj hdr;
  uint64_t msecs;
  cw_timer *head, *tail;
  size_t heap_index;
  timer_list *bucket_next;
  bool mapped;  /* still the list of its duration */
  bool running; /* the timers phase is walking it */
};

size_t timer_size(void) { return sizeof(cw_timer); }
size_t timer_list_size(void) { return sizeof(timer_list); }

/* ---- the queue of lists ---------------------------------------------------- */

/* Entries carry the keys, so that sifting reads no cold list. */
static bool earlier(const list_entry *a, const list_entry *b) {
  return a->expiry < b->expiry || (a->expiry == b->expiry && a->id < b->id);
}

static void heap_set(cw_loop *loop, size_t i, list_entry e) {
  loop->heap[i] = e;
  e.list->heap_index = i;
}

static void sift_up(cw_loop *loop, size_t i) {
  list_entry e = loop->heap[i];
  while (i > 0 && earlier(&e, &loop->heap[(i - 1) / 2])) {
    heap_set(loop, i, loop->heap[(i - 1) / 2]);
    i = (i - 1) / 2;
  }
  heap_set(loop, i, e);
}

static void sift_down(cw_loop *loop, size_t i) {
  list_entry e = loop->heap[i];
  for (;;) {
    size_t child = 2 * i + 1;
    if (child >= loop->heap_len)
      break;
    if (child + 1 < loop->heap_len && earlier(&loop->heap[child + 1], &loop->heap[child]))
      child++;
    if (!earlier(&loop->heap[child], &e))
      break;
    heap_set(loop, i, loop->heap[child]);
    i = child;
  }
  heap_set(loop, i, e);
}

static void heap_remove(cw_loop *loop, size_t i) {
  list_entry last = loop->heap[--loop->heap_len];
  if (i == loop->heap_len)
    return;
  heap_set(loop, i, last);
  sift_down(loop, i);
  sift_up(loop, last.list->heap_index);
}

/* ---- lists by duration ------------------------------------------------------ */

/* Fibonacci hashing: the top bits of the product. */
static size_t bucket_of(const cw_loop *loop, uint64_t msecs) {
  return (size_t)((msecs * 0x9E3779B97F4A7C15u) >> (64 - loop->bucket_bits));
}

static timer_list *list_find(const cw_loop *loop, uint64_t msecs) {
  if (!loop->bucket_bits)
    return NULL;
  timer_list *l = loop->buckets[bucket_of(loop, msecs)];
  while (l && l->msecs != msecs)
    l = l->bucket_next;
  return l;
}

static void map_insert(cw_loop *loop, timer_list *l) {
  size_t b = bucket_of(loop, l->msecs);
  l->bucket_next = loop->buckets[b];
  loop->buckets[b] = l;
}

static timer_list *list_create(cw_loop *loop, uint64_t msecs, uint64_t expiry) {
  if (loop->nlists + 1 > ((size_t)1 << loop->bucket_bits) / 2 || !loop->bucket_bits) {
    timer_list **old = loop->buckets;
    size_t n = loop->bucket_bits ? (size_t)1 << loop->bucket_bits : 0;
    loop->bucket_bits = loop->bucket_bits ? loop->bucket_bits + 1 : 4;
    size_t grown = (size_t)1 << loop->bucket_bits;
    loop->buckets = xmalloc(grown * sizeof *loop->buckets);
    for (size_t i = 0; i < grown; i++)
      loop->buckets[i] = NULL;
    for (size_t i = 0; i < n; i++)
      for (timer_list *l = old[i], *next; l; l = next) {
        next = l->bucket_next;
        map_insert(loop, l);
      }
    free(old);
  }
  timer_list *l = pool_alloc(&loop->lists);
  l->msecs = msecs;
  l->head = l->tail = NULL;
  l->mapped = true;
  l->running = false;
  map_insert(loop, l);
  loop->nlists++;
  grow_array((void **)&loop->heap, &loop->heap_cap, loop->heap_len + 1, sizeof *loop->heap);
  heap_set(loop, loop->heap_len++, (list_entry){expiry, loop->list_id++, l});
  sift_up(loop, l->heap_index);
  return l;
}

static void list_free(cw_loop *loop, timer_list *l) { pool_free(&loop->lists, l); }

/* Takes l out of the map and the queue; the timers phase frees a list it is walking. */
static void list_unmap(cw_loop *loop, timer_list *l) {
  timer_list **p = &loop->buckets[bucket_of(loop, l->msecs)];
  while (*p != l)
    p = &(*p)->bucket_next;
  *p = l->bucket_next;
  loop->nlists--;
  l->mapped = false;
  heap_remove(loop, l->heap_index);
  if (!l->running)
    list_free(loop, l);
}

static void list_unlink(timer_list *l, cw_timer *t) {
  if (t->prev)
    t->prev->next = t->next;
  else
    l->head = t->next;
  if (t->next)
    t->next->prev = t->prev;
  else
    l->tail = t->prev;
  t->next = t->prev = NULL;
  t->list = NULL;
}

/* ---- the libuv side ---------------------------------------------------- */

static uint64_t now_ms(cw_loop *loop) {
  uv_update_time(loop->uv); /* as Node's getLibuvNow: a timer counts from its creation */
  return uv_now(loop->uv);
}

static void on_timer(uv_timer_t *handle);

/* Points the libuv timer at the earliest list. From the timers phase it
 * waits at least 1 ms, as Node's RunTimers: libuv 1.44 re-checks its heap
 * after every callback and would otherwise fire it again in the same pass. */
static void arm(cw_loop *loop) {
  uv_timer_t *handle = &loop->handles->timer;
  if (loop->heap_len == 0) {
    uv_timer_stop(handle);
    return;
  }
  uint64_t now = uv_now(loop->uv), expiry = loop->heap[0].expiry;
  uint64_t wait = expiry > now ? expiry - now : loop->in_timers ? 1 : 0;
  uv_timer_start(handle, on_timer, wait, 0);
}

/* Node's insert(): the list of this duration, created if there is none. */
static void insert(cw_loop *loop, cw_timer *t, uint64_t msecs, uint64_t start) {
  t->start = start;
  timer_list *l = list_find(loop, msecs);
  if (!l) {
    l = list_create(loop, msecs, start + msecs);
    if (loop->heap[0].list == l && !loop->in_timers)
      arm(loop);
  }
  t->list = l;
  t->next = NULL;
  t->prev = l->tail;
  if (l->tail)
    l->tail->next = t;
  else
    l->head = t;
  l->tail = t;
}

/* The libuv timer keeps the loop alive while a timeout or interval that is
 * not unref'ed is armed, as Node's refCount does. */
static void count_ref(cw_loop *loop, cw_timer *t, int delta) {
  if (t->kind == T_IMMEDIATE || t->unrefed)
    return;
  loop->timers_refed += delta;
  uv_handle_t *handle = (uv_handle_t *)&loop->handles->timer;
  if (loop->timers_refed)
    uv_ref(handle);
  else
    uv_unref(handle);
}

static void release_timer(cw_loop *loop, cw_timer *t) {
  count_ref(loop, t, -1);
  pool_free(&loop->timers, t);
}

/* Runs t's callback as a macrotask. Between the callback and the drain, as
 * in Node's finally block, an interval is re-armed (so what the drain
 * creates comes after it) and anything else is released. */
static void run_callback(cw_loop *loop, cw_timer *t, cw_phase phase, uint64_t start) {
  const char *file = t->file;
  int line = t->line;
  t->running = true;
  macrotask_begin(loop, phase, t->fn, file, line);
  t->fn(t->arg);
  t->running = false;
  if (t->kind == T_INTERVAL && !t->cleared)
    insert(loop, t, t->repeat, start);
  else
    release_timer(loop, t);
  cw_macrotask_end_at(loop, file, line);
}

/* Node's listOnTimeout: runs l's timers in order while they are due; false
 * when one is not, after moving l's expiry to it. */
static bool run_list(cw_loop *loop, timer_list *l, uint64_t now) {
  cw_timer *t;
  while ((t = l->head) && !loop->stopped) {
    if (t->start + l->msecs > now) {
      list_entry *e = &loop->heap[l->heap_index];
      e->expiry = t->start + l->msecs > now + 1 ? t->start + l->msecs : now + 1;
      e->id = loop->list_id++;
      sift_down(loop, l->heap_index);
      return false;
    }
    list_unlink(l, t);
    run_callback(loop, t, CW_PHASE_TIMERS, t->kind == T_INTERVAL ? now_ms(loop) : 0);
  }
  return true;
}

/* The timers phase, as Node's processTimers: every list due at the time
 * the phase began, earliest first, with the queues drained after each timer. */
static void on_timer(uv_timer_t *handle) {
  loop_handles *h = handle->data;
  cw_loop *loop = h->loop;
  uint64_t now = now_ms(loop);
  loop->in_timers = true;
  while (loop->heap_len && !loop->stopped && loop->heap[0].expiry <= now) {
    timer_list *l = loop->heap[0].list;
    l->running = true;
    bool emptied = run_list(loop, l, now) && !l->head;
    l->running = false;
    if (!l->mapped)
      list_free(loop, l); /* cleared empty while it ran */
    else if (emptied)
      list_unmap(loop, l);
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
    run_callback(loop, t, CW_PHASE_CHECK, 0);
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
  free(loop->heap); /* the lists go with their pool */
  free(loop->buckets);
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
  t->running = t->cleared = t->unrefed = false;
  t->start = t->repeat = 0;
  t->list = NULL;
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
  t->repeat = kind == T_INTERVAL ? ms : 0;
  insert(loop, t, ms, now_ms(loop));
  count_ref(loop, t, +1);
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
    timer_list *l = t->list;
    list_unlink(l, t);
    if (!l->head) { /* Node's unenroll: an empty list goes */
      list_unmap(loop, l);
      if (!loop->in_timers)
        arm(loop);
    }
  }
  release_timer(loop, t);
}

static void set_refed(cw_timer *handle, bool refed) {
  cw_timer *t = handle ? pool_object(handle) : NULL;
  if (!t || t->kind == T_IMMEDIATE || t->unrefed == !refed)
    return;
  if (refed) {
    t->unrefed = false;
    count_ref(t->loop, t, +1);
  } else {
    count_ref(t->loop, t, -1);
    t->unrefed = true;
  }
}

void cw_timer_unref(cw_timer *timer) { set_refed(timer, false); }
void cw_timer_ref(cw_timer *timer) { set_refed(timer, true); }

static void visit(const cw_timer *t, uint64_t due, cw_timer_visit_fn fn, void *arg) {
  cw_timer_info info = {kind_names[t->kind], t->fn, t->arg, due, t->file, t->line};
  fn(arg, &info);
}

size_t cw_loop_timers(cw_loop *loop, cw_timer_visit_fn fn, void *arg) {
  if (!loop) {
    misuse(NULL, "cw_loop_timers", NULL, 0, "the loop is NULL");
    return 0;
  }
  size_t n = 0;
  for (size_t i = 0; i < loop->heap_len; i++)
    for (cw_timer *t = loop->heap[i].list->head; t; t = t->next, n++)
      if (fn)
        visit(t, t->start + loop->heap[i].list->msecs, fn, arg);
  for (cw_timer *t = loop->imm_head; t; t = t->next, n++)
    if (fn)
      visit(t, 0, fn, arg);
  return n;
}
