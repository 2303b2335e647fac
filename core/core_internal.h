/* Internals of the core, shared by its files and by nothing else. */
#ifndef CLOCKWORK_CORE_INTERNAL_H
#define CLOCKWORK_CORE_INTERNAL_H

#include "clockwork/core.h"
#include "fiber_internal.h"

/* ---- memory.c: allocations that abort when out of memory ---------------- */
_Noreturn void out_of_memory(size_t size); /* says how much was asked for, and aborts */
void *xmalloc(size_t size);
/* Grows *arr (of elements of size elem) to hold at least need. */
void grow_array(void **arr, size_t *cap, size_t need, size_t elem);

/* The blocks of a loop's pools, map and queues: a block of BLOCK / 2
 * bytes or more is on huge pages, and when freed is kept (cut in blocks of
 * BLOCK) for the loop's next requests up to BLOCK; a smaller one is on a
 * cache line. Free a block with the size it was asked for. */
#define CACHE_LINE 64
#define BLOCK ((size_t)2 << 20)
typedef struct blocks {
  void **spares; /* freed blocks of BLOCK bytes, the last freed last */
  size_t spares_len, spares_cap;
} blocks;
void *block_alloc(blocks *b, size_t size); /* aborts when out of memory */
void block_free(blocks *b, void *p, size_t size);
void blocks_destroy(blocks *b);

/* ---- pool.c: fixed-size objects whose handles can be checked after free --
 * Every object starts with a pool_obj. Freed objects stay in the pool's
 * memory until the pool is destroyed; each alloc and each free bumps the
 * generation (odd: live), so a handle carrying the generation of its object
 * (in the pointer's unused top bits) is recognised as stale instead of
 * touching a reused object. The header is 4 bytes, so that an object's own
 * fields may start right after it: a timer then fits in a cache line.
 * A plain pool (pool_init_plain) holds objects never handed out, the timer
 * lists: no header, only pool_take and pool_put, so that 16 bytes of fields
 * take 16 bytes and never straddle two cache lines. */
typedef struct pool_obj {
  uint32_t gen;
} pool_obj;

typedef struct pool_chunk pool_chunk;
typedef struct pool {
  size_t size;        /* object size, rounded for alignment */
  size_t per_chunk;
  size_t live;        /* objects allocated now */
  void *free;         /* free objects, linked through their body */
  pool_chunk *chunks;
  blocks *blocks;     /* where the chunks come from */
  bool untagged;      /* a chunk's addresses use the top bits: handles carry no generation */
  bool plain;         /* no header: pool_take and pool_put only */
} pool;

/* Handles carry 16 bits of generation in the pointer's top bits, which user
 * space leaves zero on x86_64 and aarch64 (48-bit addresses). */
#define TAG_SHIFT 48
#define TAG_MASK ((uintptr_t)0xFFFF)
#define HAVE_TAGS (UINTPTR_MAX > 0xFFFFFFFFu)

/* Never 0, which means "untagged", since a live object's generation is odd. */
static inline uint32_t pool_tag_of(uint32_t gen) { return gen & 0xFFFF; }

void pool_init(pool *p, size_t size, blocks *from);
void pool_init_plain(pool *p, size_t size, blocks *from);
void pool_destroy(pool *p);
void pool_grow(pool *p); /* adds free objects; aborts when out of memory */

/* The link of a free object sits in its first pointer after the header. */
static inline void **pool_link(void *obj) { return (void **)((char *)obj + sizeof(void *)); }

static inline bool pool_live(const pool_obj *o) { return o->gen & 1; }

static inline void *pool_take(pool *p) {
  if (!p->free)
    pool_grow(p);
  void *o = p->free;
  p->free = *pool_link(o);
  p->live++;
  return o;
}

static inline void pool_put(pool *p, void *obj) {
  *pool_link(obj) = p->free;
  p->free = obj;
  p->live--;
}

static inline void *pool_alloc(pool *p) {
  pool_obj *o = pool_take(p);
  o->gen++;
  return o;
}

static inline void pool_free(pool *p, void *obj) {
  ((pool_obj *)obj)->gen++;
  pool_put(p, obj);
}
void *pool_handle(const pool *p, void *obj);   /* the pointer handed to users */

/* The object behind a handle, or NULL when the handle is stale. */
static inline void *pool_object(const void *handle) {
  uint32_t tag = 0;
  uintptr_t h = (uintptr_t)handle;
#if HAVE_TAGS
  tag = (uint32_t)((h >> TAG_SHIFT) & TAG_MASK);
  h &= ~(TAG_MASK << TAG_SHIFT);
#endif
  pool_obj *o = (pool_obj *)h;
  if (!pool_live(o) || (tag != 0 && tag != pool_tag_of(o->gen)))
    return NULL;
  return o;
}
/* Calls fn on every live object. */
void pool_each(pool *p, void (*fn)(void *obj, void *arg), void *arg);

/* ---- sites.c: call sites interned per loop, for objects that keep an id -- */
#define SITE_BITS 24
typedef struct site {
  const char *file;
  int line;
} site;
typedef struct site_table {
  site *sites; /* by id; 0: unknown */
  size_t len, cap;
  uint32_t *index; /* open addressing: ids by (file, line), 0 free */
  unsigned bits;   /* 1 << bits slots */
  const char *last_file; /* the site interned last, as calls come in runs from one */
  int last_line;
  uint32_t last;
} site_table;
void sites_init(site_table *t);
void sites_destroy(site_table *t);
uint32_t site_lookup(site_table *t, const char *file, int line);
static inline uint32_t site_intern(site_table *t, const char *file, int line) { /* < 1 << SITE_BITS */
  return file == t->last_file && line == t->last_line ? t->last : site_lookup(t, file, line);
}

/* ---- jobs.c: FIFO queues of callbacks (nextTick and microtask queues) --- */
typedef struct job {
  cw_fn fn;
  void *arg;
} job;

typedef struct job_queue {
  job *ring;
  size_t cap;   /* a power of two */
  size_t head;  /* next to run */
  size_t count;
  blocks *blocks; /* where the ring comes from */
} job_queue;

void job_queue_init(job_queue *q, blocks *from);
void job_queue_destroy(job_queue *q);
void job_queue_grow(job_queue *q);
static inline void job_queue_push(job_queue *q, cw_fn fn, void *arg) {
  if (q->count == q->cap)
    job_queue_grow(q);
  q->ring[(q->head + q->count) & (q->cap - 1)] = (job){fn, arg};
  q->count++;
}
static inline bool job_queue_pop(job_queue *q, job *out) {
  if (q->count == 0)
    return false;
  *out = q->ring[q->head];
  q->head = (q->head + 1) & (q->cap - 1);
  q->count--;
  return true;
}

/* ---- the loop --------------------------------------------------------- */

/* The libuv handles of a loop. Allocated apart from the loop so that a
 * wrapped loop can be freed at once while libuv still owes the close
 * callbacks: the last one frees this. */
typedef struct timer_list timer_list;
typedef struct list_entry {
  uint64_t expiry; /* when the list's first timer is due */
  timer_list *list;
} list_entry;

/* ---- list_queue.c: the timer lists by expiry, then in the order queued -- */
#define QUEUE_DIGIT_BITS 6
#define QUEUE_LEVELS ((64 + QUEUE_DIGIT_BITS - 1) / QUEUE_DIGIT_BITS)
typedef struct list_bucket list_bucket;
typedef struct side_entry side_entry;
typedef struct list_queue {
  list_bucket *buckets;  /* by level, then digit */
  uint64_t occupied[QUEUE_LEVELS]; /* by level: a bit per bucket in use */
  uint32_t levels;       /* a bit per level in use */
  uint64_t base;         /* no bucketed expiry is below it */
  side_entry *side;      /* a 4-ary heap of the expiries pushed below base */
  size_t side_len, side_cap;
  uint64_t seq;          /* push order, for ties in the side heap */
  size_t len;            /* entries in all */
  blocks *blocks;        /* where the buckets' arrays come from */
} list_queue;

void queue_init(list_queue *q, blocks *from);
void queue_destroy(list_queue *q);
/* now: the loop's time, which no expiry pushed later is below. */
void queue_push(list_queue *q, uint64_t expiry, timer_list *list, uint64_t now);
/* The earliest entry, NULL when empty; it stays in place until queue_pop,
 * whatever is pushed meanwhile at a later expiry. */
list_entry *queue_top(list_queue *q);
void queue_pop(list_queue *q); /* the entry queue_top returned */
/* The entry after the top when it is at hand (in level 0), else NULL: the
 * list to prefetch for. */
const list_entry *queue_after_top(const list_queue *q);
/* Keeps only the entries whose list keep() accepts, in order. */
void queue_sweep(list_queue *q, bool (*keep)(timer_list *list, void *arg), void *arg);
void queue_each(list_queue *q, void (*fn)(const list_entry *e, void *arg), void *arg);
typedef struct list_slot {
  uint64_t msecs;
  timer_list *list; /* NULL: a free slot */
} list_slot;

typedef struct loop_handles {
  uv_timer_t timer;  /* the earliest core timer */
  uv_check_t check;  /* immediates, and jobs queued outside any macrotask */
  uv_idle_t idle;    /* keeps poll from blocking while immediates wait */
  int open;
  cw_loop *loop;     /* NULL once the loop is freed */
} loop_handles;

struct cw_loop {
  uv_loop_t *uv;
  uv_loop_t own_uv;
  bool owns_uv;
  loop_handles *handles;

  job_queue ticks;
  job_queue microtasks;
  cw_phase phase;
  int depth;          /* nested macrotasks */
  bool draining;
  size_t job_limit;   /* jobs one drain may run; 0: no limit */
  uint64_t macrotasks;
  char *guard_message;
  bool running;       /* inside cw_run */
  int stopped;        /* why the run stopped: CW_EUNHANDLED, CW_ELIMIT; 0 while it runs */
  bool in_uv_run;
  bool idle_active;
  unsigned long misuses;
  cw_macrotask_fn on_macrotask;
  void *on_macrotask_arg;
  cw_macrotask_info timed; /* the outermost macrotask, while the hook times it */
  bool timing;
  uint64_t seed;
  uint64_t rng[4]; /* xoshiro256** */

  pool promises;
  pool reactions;
  blocks blocks;      /* the memory of its pools, map and queues */
  pool timers;
  site_table sites; /* where the timers were made */
  pool tasks;

  /* tasks: their stacks, and the ones alive */
  cw_fiber_pool fibers;
  bool fibers_ready;
  size_t stack_size;
  struct task *tasks_head;

  /* timeouts and intervals: lists by duration, queued by expiry */
  list_queue queue;    /* emptied lists leave it lazily (lists_dead of them) */
  size_t lists_dead;
  list_slot *map;      /* the lists by duration, open addressing: 1 << map_bits slots */
  unsigned map_bits;
  size_t nlists;
  pool lists;
  size_t timers_refed; /* armed timeouts and intervals that keep the loop alive */
  bool in_timers;
  cw_timer_advance_fn advance; /* may move the clock on to the next timer within the timers phase */
  void *advance_arg;
  /* immediates: a list in order of creation */
  cw_timer *imm_head, *imm_tail;
  uint64_t imm_seq;

  /* rejections waiting for the end of the drain, and handled-late notices */
  cw_promise **unhandled;
  size_t unhandled_len, unhandled_cap;
  cw_rejection *late;
  size_t late_len, late_cap;
  cw_rejection_fn on_unhandled;
  void *on_unhandled_arg;

  /* promises whose last reference went while another was being freed */
  cw_promise **doomed;
  size_t doomed_len, doomed_cap;
  bool freeing;

  struct io_ports *io; /* the I/O ports (io.c): backend, operations in flight; NULL until used */
};

/* cw_macrotask_begin_at, naming the macrotask's callback for the hook. */
void macrotask_begin(cw_loop *loop, cw_phase phase, cw_fn callback, const char *file, int line);
/* Queues a microtask; the core's own jobs go through here too. */
void enqueue_job(cw_loop *loop, cw_fn fn, void *arg);
/* Work was queued: outside any macrotask, have the next check phase drain it. */
void loop_wake(cw_loop *loop);
void drain(cw_loop *loop);
/* Stops the run: cw_run returns code. */
void loop_stop(cw_loop *loop, int code);

/* io.c: cancels and finishes the operations in flight, closes the sockets */
void io_destroy(cw_loop *loop);

/* random.c: seeds a new loop from the OS */
void random_init(cw_loop *loop);

/* ---- timers.c ---------------------------------------------------------- */
size_t timer_size(void);
size_t timer_list_size(void);
void timers_init(cw_loop *loop);
void timers_destroy(cw_loop *loop);
void start_idle(cw_loop *loop);

/* ---- promises ---------------------------------------------------------- */
enum {
  P_RESOLVED = 1, /* its fate is sealed: settled, or following another promise */
  P_HANDLED = 2,  /* a reaction was ever attached ([[PromiseIsHandled]]) */
  P_WARNED = 4,   /* reported as an unhandled rejection */
  P_DETACHED = 8,
  P_CORE = 16,    /* settled by the core (then, finally, combinators): not by the user */
};

struct cw_promise {
  pool_obj hdr;
  cw_loop *loop;
  void *value;
  struct reaction *first, *last;
  const char *file;         /* created at */
  const char *settled_file; /* rejected at */
  int line;
  int settled_line;
  int error;
  uint32_t user_refs; /* references held by the user */
  uint32_t refs;      /* references held by the core (reactions, jobs, reports) */
  uint8_t state;
  uint8_t flags;
};

typedef struct combinator combinator;
typedef enum {
  R_THEN,
  R_FINALLY,
  R_ADOPT,   /* settle target like source */
  R_ELEMENT, /* one input of a combinator */
  R_AWAIT,   /* resume a task */
} reaction_kind;

typedef struct task task;

typedef struct reaction {
  struct reaction *next;
  cw_promise *source; /* set when queued: the settled promise */
  cw_promise *target; /* the promise this reaction settles */
  reaction_kind kind;
  int line;           /* where it was attached */
  const char *file;
  union {
    struct { cw_handler on_ok, on_err; void *arg; } then;
    struct { cw_fn fn; void *arg; } fin;
    struct { combinator *c; size_t index; } element;
    struct { task *task; } await;
  } u;
} reaction;

/* The promise behind a handle, checked: NULL after a misuse report. take
 * converts one user reference into one the core holds (drop with unref).
 * Inline: every call of the API goes through them. */
cw_promise *promise_check_failed(const cw_promise *handle, const char *function, const char *file, int line);
static inline cw_promise *promise_check(const cw_promise *handle, const char *function, const char *file,
                                        int line) {
  cw_promise *p = handle ? pool_object(handle) : NULL;
  return p && p->user_refs ? p : promise_check_failed(handle, function, file, line);
}
static inline cw_promise *promise_take(cw_promise *handle, const char *function, const char *file, int line) {
  cw_promise *p = promise_check(handle, function, file, line);
  if (p) {
    p->user_refs--;
    p->refs++;
  }
  return p;
}
cw_promise *promise_alloc(cw_loop *loop, const char *file, int line); /* one user reference */
cw_promise *promise_internal(cw_loop *loop, const char *file, int line); /* one core reference */
cw_promise *promise_handle(cw_promise *p);
void promise_free(cw_promise *p);
static inline void promise_unref(cw_promise *p) {
  if (--p->refs == 0 && p->user_refs == 0)
    promise_free(p);
}
void promise_settle(cw_promise *p, cw_state state, void *value, int error, const char *file, int line);
/* Settles target like source, which must be settled. */
void promise_settle_like(cw_promise *target, const cw_promise *source);
/* Makes target follow source (a core reference, consumed): the thenable job. */
void promise_adopt(cw_promise *target, cw_promise *source, const char *file, int line);
/* Settles target with what a handler or a task returned. */
void promise_resolve_result(cw_promise *target, const cw_result *res, const char *file, int line);
static inline cw_result promise_result(const cw_promise *p) {
  return (cw_result){(cw_state)p->state, p->value, p->error, NULL};
}
/* [[PromiseIsHandled]]: a reaction is (or, for an await resumed at once, would be) attached. */
void promise_mark_handled(cw_promise *p, const char *file, int line);
/* Attaches a reaction to p (which keeps it alive until it ran). */
void promise_react(cw_promise *p, reaction *r, const char *file, int line);
reaction *reaction_new(cw_loop *loop, reaction_kind kind, cw_promise *target, const char *file, int line);

/* The function a queued job stands for (a handler, a task), for reports. */
void *job_callback(const job *j);
/* "name+0x12" or "0x..." for a function pointer, via dladdr. Exported
 * (the two underscores: not an API) for the harness library, which links
 * the core as a shared library. */
const char *cw__describe_fn(const void *fn, char *buf, size_t size);

/* combinators.c */
void combinator_element(reaction *r, const cw_promise *source);
void combinator_unref(combinator *c);

/* task.c */
size_t task_size(void);
void *task_function(const task *t);
void task_resume_with(task *t, const cw_promise *settled);
void task_prefetch(const task *t); /* its stack, for a resume to come */
void tasks_destroy(cw_loop *loop);

/* rejections.c */
void rejection_track(cw_promise *p);
void rejection_handled(cw_promise *p, const char *file, int line);
bool rejections_process(cw_loop *loop); /* true if it queued more work */
void rejections_destroy(cw_loop *loop);

/* misuse.c: reports name the loop when known, else the loop cw_run is running */
cw_loop *misuse_set_loop(cw_loop *loop); /* returns the previous one */
void misuse(cw_loop *loop, const char *function, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

#endif
