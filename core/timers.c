/* Timeouts and intervals on one libuv timer, organised as Node organises
 * them (so that their order is Node's, and a timer created during the timers
 * phase always waits for a later turn), and immediates on a check handle. */
#include "core_internal.h"

#include <stdlib.h>
#include <string.h>

typedef enum { T_TIMEOUT, T_INTERVAL, T_IMMEDIATE } timer_kind;
static const char *const kind_names[] = {"timeout", "interval", "immediate"};

struct cw_timer { /* 64 bytes: one cache line (pool.c) */
  pool_obj hdr;
  unsigned site : SITE_BITS; /* where it was made: loop->sites */
  unsigned kind : 2;         /* a timer_kind */
  unsigned running : 1;      /* its callback is on the stack */
  unsigned cleared : 1;      /* cleared while running */
  unsigned unrefed : 1;      /* does not keep the loop alive (Node's timer.unref()) */
  cw_loop *loop;
  cw_fn fn;
  void *arg;
  union {
    uint64_t start; /* timeouts and intervals: when (re-)armed */
    uint64_t seq;   /* immediates: creation order */
  };
  timer_list *list;
  cw_timer *next, *prev; /* in its list (where the head's prev is the tail), or among the immediates */
};

/* As Node's lib/internal/timers.js: one list per duration, in insertion
 * order, and a queue of lists by expiry (list_queue.c), where ties go to
 * the list queued first (Node's list ids). A list runs its timers in order
 * and stops at the first one not yet due, so a timer never overtakes an
 * earlier one of the same duration. An emptied list stays in the queue,
 * dead: it is freed when it reaches the top (prune), or with all the others
 * when they are more than half of the queue (compact). Taking it out at
 * once would need its place in the queue, kept up to date at every move. */
struct timer_list { /* 16 bytes, from a plain pool */
  uint64_t msecs; /* 0 (no duration is): dead, no longer the list of its duration */
  cw_timer *head;
};

_Static_assert(sizeof(void *) != 8 || sizeof(cw_timer) == CACHE_LINE, "a timer is one cache line");
_Static_assert(CACHE_LINE % sizeof(timer_list) == 0, "no list straddles two cache lines");

static bool dead(const timer_list *l) { return l->msecs == 0; }

enum { CACHED_LISTS = 1024 }; /* lists and timers: about 100 KB */

size_t timer_size(void) { return sizeof(cw_timer); }
size_t timer_list_size(void) { return sizeof(timer_list); }

/* The earliest live list's entry, the dead before it freed; NULL if none. */
static list_entry *prune(cw_loop *loop) {
  list_entry *top;
  while ((top = queue_top(&loop->queue)) && dead(top->list)) {
    pool_put(&loop->lists, top->list);
    loop->lists_dead--;
    queue_pop(&loop->queue);
  }
  return top;
}

static bool keep_live(timer_list *l, void *loop) {
  if (!dead(l))
    return true;
  pool_put(&((cw_loop *)loop)->lists, l);
  return false;
}

/* Frees every dead list. */
static void compact(cw_loop *loop) {
  queue_sweep(&loop->queue, keep_live, loop);
  loop->lists_dead = 0;
}

/* ---- lists by duration ------------------------------------------------------
 * Open addressing with linear probing, at most half full: a lookup reads
 * one or two adjacent slots, and no list. */

/* Fibonacci hashing: the top bits of the product. */
static size_t home_of(const cw_loop *loop, uint64_t msecs) {
  return (size_t)((msecs * 0x9E3779B97F4A7C15u) >> (64 - loop->map_bits));
}

static size_t map_mask(const cw_loop *loop) { return ((size_t)1 << loop->map_bits) - 1; }

/* The slot of the list of msecs, or the free slot where it would go. */
static size_t map_find(const cw_loop *loop, uint64_t msecs) {
  size_t i = home_of(loop, msecs);
  while (loop->map[i].list && loop->map[i].msecs != msecs)
    i = (i + 1) & map_mask(loop);
  return i;
}

static size_t map_bytes(unsigned bits) { return ((size_t)1 << bits) * sizeof(list_slot); }

/* On huge pages once large (memory.c): a fault on a fresh small page
 * costs about as much as firing a timer (several µs in a VM). */
static void map_alloc(cw_loop *loop, unsigned bits) {
  loop->map = block_alloc(&loop->blocks, map_bytes(bits));
  memset(loop->map, 0, map_bytes(bits));
  loop->map_bits = bits;
}

/* The old array goes to the loop's spare blocks: the next pool chunks. */
static void map_grow(cw_loop *loop) {
  list_slot *old = loop->map;
  unsigned old_bits = loop->map_bits;
  map_alloc(loop, old_bits + 1);
  for (size_t i = 0; i < ((size_t)1 << old_bits); i++)
    if (old[i].list)
      loop->map[map_find(loop, old[i].msecs)] = old[i];
  block_free(&loop->blocks, old, map_bytes(old_bits));
}

/* Empties slot hole, moving back into it each later slot of the probe run
 * whose home is not between the hole and that slot (no tombstones). */
static void map_remove(cw_loop *loop, size_t hole) {
  size_t mask = map_mask(loop);
  for (size_t i = (hole + 1) & mask; loop->map[i].list; i = (i + 1) & mask)
    if (((i - home_of(loop, loop->map[i].msecs)) & mask) >= ((i - hole) & mask)) {
      loop->map[hole] = loop->map[i];
      hole = i;
    }
  loop->map[hole].list = NULL;
}

/* A list for msecs, which has none (slot: map_find's free slot for it). */
static timer_list *list_create(cw_loop *loop, size_t slot, uint64_t msecs, uint64_t expiry) {
  if (loop->nlists + 1 > (map_mask(loop) + 1) / 2) {
    map_grow(loop);
    slot = map_find(loop, msecs);
  }
  timer_list *l = pool_take(&loop->lists);
  l->msecs = msecs;
  l->head = NULL;
  loop->map[slot] = (list_slot){msecs, l};
  loop->nlists++;
  queue_push(&loop->queue, expiry, l, expiry - msecs);
  return l;
}

/* Node's delete of timerListMap[msecs]: a later timer of l's duration gets
 * a new list. */
static void list_unmap(cw_loop *loop, timer_list *l) {
  map_remove(loop, map_find(loop, l->msecs));
  loop->nlists--;
}

/* l, emptied by a clear, dies: it leaves the queue when prune or compact
 * finds it, never while the timers phase may still be walking it. */
static void list_kill(cw_loop *loop, timer_list *l) {
  list_unmap(loop, l);
  l->msecs = 0;
  loop->lists_dead++;
}

static void list_unlink(timer_list *l, cw_timer *t) {
  if (t->next)
    t->next->prev = t->prev;
  else
    l->head->prev = t->prev; /* the new tail */
  if (t == l->head)
    l->head = t->next;
  else
    t->prev->next = t->next;
  t->next = t->prev = NULL;
  t->list = NULL;
}

/* ---- the libuv side ---------------------------------------------------- */

static uint64_t now_ms(cw_loop *loop) {
  uv_update_time(loop->uv); /* as Node's getLibuvNow: a timer counts from its creation */
  return uv_now(loop->uv);
}

static void on_timer(uv_timer_t *handle);

/* Starts loading what running l will read: its first timer and its slot in
 * the map. */
static void prefetch_list(const cw_loop *loop, const timer_list *l) {
  __builtin_prefetch(l->head);
  __builtin_prefetch(&loop->map[home_of(loop, l->msecs)]);
}

/* Points the libuv timer at the earliest list, once the dead are gone
 * (arm is never called while the timers phase walks a list). From the
 * timers phase it waits at least 1 ms, as Node's RunTimers: libuv 1.44
 * re-checks its own heap after every callback and would otherwise fire it
 * again in the same pass. */
static void arm(cw_loop *loop) {
  uv_timer_t *handle = &loop->handles->timer;
  if (loop->lists_dead > loop->queue.len / 2)
    compact(loop);
  list_entry *top = prune(loop);
  if (!top) {
    uv_timer_stop(handle);
    return;
  }
  prefetch_list(loop, top->list); /* while the loop turns */
  uint64_t now = uv_now(loop->uv), expiry = top->expiry;
  uint64_t wait = expiry > now ? expiry - now : loop->in_timers ? 1 : 0;
  uv_timer_start(handle, on_timer, wait, 0);
}

/* Node's insert(): the list of this duration, created if there is none.
 * Outside the timers phase the top of the queue is live (arm pruned it),
 * so a new list at the top is the new earliest. */
static void insert(cw_loop *loop, cw_timer *t, uint64_t msecs, uint64_t start) {
  t->start = start;
  size_t slot = map_find(loop, msecs);
  timer_list *l = loop->map[slot].list;
  if (!l) {
    l = list_create(loop, slot, msecs, start + msecs);
    if (!loop->in_timers && queue_top(&loop->queue)->list == l)
      arm(loop);
  }
  t->list = l;
  t->next = NULL;
  if (l->head) {
    t->prev = l->head->prev;
    t->prev->next = t;
  } else {
    l->head = t;
  }
  l->head->prev = t;
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
 * in Node's finally block, an interval is re-armed, its period being the
 * duration of its list, from start (so what the drain creates comes after
 * it), and anything else is released. */
static void run_callback(cw_loop *loop, cw_timer *t, cw_phase phase, uint64_t msecs, uint64_t start) {
  site at = loop->sites.sites[t->site];
  t->running = true;
  macrotask_begin(loop, phase, t->fn, at.file, at.line);
  t->fn(t->arg);
  t->running = false;
  if (t->kind == T_INTERVAL && !t->cleared)
    insert(loop, t, msecs, start);
  else
    release_timer(loop, t);
  cw_macrotask_end_at(loop, at.file, at.line);
}

/* Node's listOnTimeout on l, the top of the queue: runs its timers in
 * order while they are due; false when one is not, after queueing l again
 * at its expiry (behind the lists already there, as Node's new list id).
 * l stays at the top meanwhile: what its callbacks queue expires after now,
 * and nothing leaves the queue during the phase but through on_timer. */
static bool run_list(cw_loop *loop, timer_list *l, uint64_t now) {
  cw_timer *t;
  while ((t = l->head) && !loop->stopped) {
    uint64_t due = t->start + l->msecs;
    if (due > now) {
      queue_pop(&loop->queue);
      queue_push(&loop->queue, due > now + 1 ? due : now + 1, l, now);
      return false;
    }
    list_unlink(l, t);
    run_callback(loop, t, CW_PHASE_TIMERS, l->msecs, t->kind == T_INTERVAL ? now_ms(loop) : 0);
  }
  return true;
}

/* The timers phase, as Node's processTimers: every list due at the time
 * the phase began, earliest first, with the queues drained after each timer.
 * Then, with no immediate waiting, a virtual clock's advance hook may move
 * the time on to the next list's expiry: the phase goes on as the next
 * turn's would, the turns between having nothing to do. */
static void on_timer(uv_timer_t *handle) {
  loop_handles *h = handle->data;
  cw_loop *loop = h->loop;
  uint64_t now = now_ms(loop);
  loop->in_timers = true;
  list_entry *top;
  while ((top = prune(loop)) && !loop->stopped) {
    if (top->expiry > now) {
      if (!loop->advance || loop->imm_head || !loop->advance(loop->advance_arg, top->expiry))
        break;
      now = uv_now(loop->uv); /* the hook moved it there */
    }
    timer_list *l = top->list;
    /* With more lists than the caches keep, the next one's list is loading
     * (cascade), and its timer and slot can load while l runs. */
    const list_entry *next = loop->queue.len > CACHED_LISTS ? queue_after_top(&loop->queue) : NULL;
    if (next)
      prefetch_list(loop, next->list);
    if (run_list(loop, l, now) && !l->head) { /* emptied, still at the top: Node's shift() */
      if (dead(l))
        loop->lists_dead--; /* cleared empty while it ran */
      else
        list_unmap(loop, l);
      queue_pop(&loop->queue);
      pool_put(&loop->lists, l);
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
    run_callback(loop, t, CW_PHASE_CHECK, 0, 0);
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
  queue_init(&loop->queue, &loop->blocks);
  map_alloc(loop, 4);
}

void timers_destroy(cw_loop *loop) {
  loop_handles *h = loop->handles;
  h->loop = NULL;
  uv_close((uv_handle_t *)&h->timer, on_closed);
  uv_close((uv_handle_t *)&h->check, on_closed);
  uv_close((uv_handle_t *)&h->idle, on_closed);
  queue_destroy(&loop->queue); /* the lists go with their pool */
  block_free(&loop->blocks, loop->map, map_bytes(loop->map_bits));
}

/* ---- the public API ---------------------------------------------------- */

static cw_timer *timer_new(cw_loop *loop, timer_kind kind, cw_fn fn, void *arg, const char *function,
                           const char *file, int line) {
  if (!loop || !fn) {
    misuse(loop, function, file, line, "the %s is NULL", loop ? "function" : "loop");
    return NULL;
  }
  uint32_t site = site_intern(&loop->sites, file, line);
  cw_timer *t = pool_alloc(&loop->timers);
  t->site = site;
  t->kind = kind;
  t->running = t->cleared = t->unrefed = false;
  t->loop = loop;
  t->fn = fn;
  t->arg = arg;
  t->start = 0;
  t->list = NULL;
  t->next = t->prev = NULL;
  return t;
}

static cw_timer *start_timer(cw_loop *loop, timer_kind kind, uint64_t ms, cw_fn fn, void *arg,
                             const char *function, const char *file, int line) {
  cw_timer *t = timer_new(loop, kind, fn, arg, function, file, line);
  if (!t)
    return NULL;
  if (ms < 1)
    ms = 1;
  if (loop->nlists > CACHED_LISTS) /* the map is out of cache: its slot loads while the clock is read */
    __builtin_prefetch(&loop->map[home_of(loop, ms)]);
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
      list_kill(loop, l);
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
  site at = t->loop->sites.sites[t->site];
  cw_timer_info info = {kind_names[t->kind], t->fn, t->arg, due, at.file, at.line};
  fn(arg, &info);
}

struct visit_lists {
  cw_timer_visit_fn fn;
  void *arg;
  size_t count;
};

static void visit_list(const list_entry *e, void *arg) {
  struct visit_lists *v = arg;
  for (cw_timer *t = e->list->head; t; t = t->next, v->count++)
    if (v->fn)
      visit(t, t->start + e->list->msecs, v->fn, v->arg);
}

size_t cw_loop_timers(cw_loop *loop, cw_timer_visit_fn fn, void *arg) {
  if (!loop) {
    misuse(NULL, "cw_loop_timers", NULL, 0, "the loop is NULL");
    return 0;
  }
  struct visit_lists v = {fn, arg, 0};
  queue_each(&loop->queue, visit_list, &v);
  size_t n = v.count;
  for (cw_timer *t = loop->imm_head; t; t = t->next, n++)
    if (fn)
      visit(t, 0, fn, arg);
  return n;
}
