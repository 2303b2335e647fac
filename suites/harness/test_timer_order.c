/* The order of timeouts and intervals against a reference model. Random
 * programs set and clear timers, from the test and from the timers' own
 * callbacks, between clock controls (advance by any amount, next, run_all);
 * each runs on the virtual clock and through a naive model of Node 20's
 * lib/internal/timers.js written below from its algorithm, sharing nothing
 * with core/. Every callback, as "timer@ms", and after each control the
 * time, the timer count and each pending timer's due time must be the
 * model's.
 *
 * A program is drawn whole from its seed before it runs: what timer k's
 * callback sets and clears on each of its runs is part of it, so both
 * sides run the same program whatever order they fire in. Seeds below
 * LARGE_SEEDS draw small programs; from LARGE_SEEDS on, large ones, with
 * bursts of thousands of timers and mass clears.
 *
 * TIMER_ORDER_SEED=<seed> runs that seed alone (small or large by its
 * value), as a failure names it.
 *
 * Bursts of a hundred thousand timers and more, too many for the model,
 * are checked against their order in closed form. */
#include "harness_fixture.h"

#include <inttypes.h>

enum { SMALL_PROGRAMS = 5000, LARGE_PROGRAMS = 16 };
#define LARGE_SEEDS UINT64_C(1000000)

/* Durations from HUGE_MS up to MAX_MS are huge; a program spends at most
 * HUGE_BUDGET ms of them (duration times runs, and advances), and other
 * durations stay below 2^31, so its clock stays below 2^42 ms. */
#define HUGE_MS (UINT64_C(1) << 36)
#define MAX_MS (UINT64_C(1) << 40)
#define HUGE_BUDGET (UINT64_C(1) << 41)
enum { MAX_DEPTH = 5, MAX_RUNS = 4 };

/* ---- programs ---------------------------------------------------------------------- */

typedef struct {
  bool clear; /* else set */
  uint32_t timer;
} action;

typedef struct {
  uint32_t begin, end; /* of prog.actions */
} span;

typedef struct {
  uint64_t ms;      /* as given to cw_set_*: 0 is 1 */
  bool interval;
  uint8_t runs;     /* an interval clears itself in its runs-th callback */
  uint8_t depth;    /* 0: set by the test, else by a callback of depth - 1 */
  uint32_t scripts; /* in prog.scripts, runs of them: what each callback does */
} timer_spec;

typedef enum { ADVANCE, NEXT, RUN_ALL } control;
static const char *const control_names[] = {"advance", "next", "run_all"};

typedef struct {
  span actions; /* the test's, before the control */
  control control;
  uint64_t ms;  /* ADVANCE's */
} round_spec;

static struct {
  timer_spec *timers;
  action *actions;
  span *scripts;
  round_spec *rounds;
  size_t ntimers, nactions, nscripts, nrounds;
  size_t timers_cap, actions_cap, scripts_cap, rounds_cap;
} prog;

/* Room for one more element at the end of *array, growing it: the new one. */
static void *push(void *array, size_t *len, size_t *cap, size_t size) {
  void **items = array;
  if (*len == *cap) {
    *cap = *cap ? 2 * *cap : 64;
    assert_non_null(*items = realloc(*items, *cap * size));
  }
  return (char *)*items + (*len)++ * size;
}
#define PUSH(array, len, cap) ((__typeof__(array))push(&(array), &(len), &(cap), sizeof *(array)))

static uint64_t duration(const timer_spec *t) { return t->ms ? t->ms : 1; }

/* ---- drawing a program -------------------------------------------------------------- */

typedef struct {
  uint64_t state;
} rng;

static uint64_t next_u64(rng *r) { /* splitmix64 */
  uint64_t z = (r->state += UINT64_C(0x9E3779B97F4A7C15));
  z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
  z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
  return z ^ (z >> 31);
}

static uint64_t below(rng *r, uint64_t n) { return next_u64(r) % n; }
static bool chance(rng *r, unsigned percent) { return below(r, 100) < percent; }

typedef struct {
  rng r;
  bool large;
  uint64_t palette[6]; /* the program's usual durations: long lists, requeues, ties */
  size_t npalette;
  uint64_t huge_left;  /* of HUGE_BUDGET */
  size_t timers_left;
  size_t recent;       /* a clear's target is often among the last timers drawn, likely pending */
  bool spread;         /* durations of any magnitude only: a list per timer */
  uint64_t tie_ms;     /* a timer the test set, tie_elapsed ms of advances ago (0: none since next or */
  uint64_t tie_elapsed; /* run_all): one tie_ms - tie_elapsed long now is due with it */
} gen;

/* Around the boundaries of the levels a bucket queue may have. */
static uint64_t boundary_ms(rng *r) {
  static const unsigned bits[] = {4, 6, 8, 10, 12, 14, 16, 20, 24, 30};
  return (UINT64_C(1) << bits[below(r, sizeof bits / sizeof bits[0])]) - 1 + below(r, 3);
}

static uint64_t any_magnitude_ms(rng *r) { return below(r, UINT64_C(2) << below(r, 31)); }

static uint64_t huge_ms(rng *r) { return HUGE_MS + below(r, MAX_MS - HUGE_MS + 1); }

static uint64_t fresh_ms(rng *r) {
  switch (below(r, 10)) {
  case 0:
    return below(r, 3); /* 0 (which is 1), 1, 2 */
  case 1:
  case 2:
  case 3:
    return 1 + below(r, 20);
  case 4:
  case 5:
    return boundary_ms(r);
  case 6:
  case 7:
  case 8:
    return any_magnitude_ms(r);
  default:
    return huge_ms(r);
  }
}

/* ms, spent times times, if huge within the budget; else a short one. */
static uint64_t spend(gen *g, uint64_t ms, unsigned times) {
  if (ms < HUGE_MS)
    return ms;
  if (ms * times > g->huge_left)
    return 1 + below(&g->r, 20);
  g->huge_left -= ms * times;
  return ms;
}

static uint32_t new_timer(gen *g, unsigned depth) {
  rng *r = &g->r;
  bool interval = chance(r, 25);
  unsigned runs = interval ? 1 + (unsigned)below(r, MAX_RUNS) : 1;
  uint64_t ms = g->spread ? any_magnitude_ms(r) : chance(r, 45) ? g->palette[below(r, g->npalette)] : fresh_ms(r);
  bool tie = depth == 0 && g->tie_elapsed && g->tie_ms > g->tie_elapsed && chance(r, 30);
  ms = spend(g, tie ? g->tie_ms - g->tie_elapsed : ms, runs);
  if (depth == 0 && !g->tie_ms) {
    g->tie_ms = ms;
    g->tie_elapsed = 0;
  }
  *PUSH(prog.timers, prog.ntimers, prog.timers_cap) = (timer_spec){ms, interval, (uint8_t)runs, (uint8_t)depth, 0};
  g->timers_left--;
  return (uint32_t)(prog.ntimers - 1);
}

/* n actions, each a set (of a timer of depth) with set_percent chance, else
 * a clear: of self (a timer's own script) or of any timer drawn before, half
 * the time one of the g->recent last. */
static span draw_actions(gen *g, size_t n, unsigned depth, int64_t self, unsigned set_percent) {
  span s = {(uint32_t)prog.nactions, 0};
  for (size_t i = 0; i < n; i++) {
    action a;
    if (g->timers_left && depth <= MAX_DEPTH && chance(&g->r, set_percent))
      a = (action){false, new_timer(g, depth)};
    else if (self >= 0 && chance(&g->r, 30))
      a = (action){true, (uint32_t)self};
    else if (prog.ntimers)
      a = (action){true, (uint32_t)(prog.ntimers - 1 - below(&g->r, chance(&g->r, 50) && g->recent < prog.ntimers
                                                                         ? g->recent
                                                                         : prog.ntimers))};
    else
      continue;
    *PUSH(prog.actions, prog.nactions, prog.actions_cap) = a;
  }
  s.end = (uint32_t)prog.nactions;
  return s;
}

/* Advances (30% short, often less than the next deadline; any magnitude;
 * around a boundary; huge; 0), 35% next, 5% run_all. */
static round_spec draw_control(gen *g, span actions) {
  rng *r = &g->r;
  unsigned c = (unsigned)below(r, 20);
  uint64_t ms = c < 6 ? below(r, chance(r, 50) ? 6 : 21)
              : c < 9 ? any_magnitude_ms(r)
              : c < 10 ? boundary_ms(r)
              : c < 11 ? spend(g, huge_ms(r), 1)
              : 0;
  return (round_spec){actions, c < 12 ? ADVANCE : c < 19 ? NEXT : RUN_ALL, ms};
}

/* The program of seed into prog: the rounds of the test, then each timer's
 * scripts in the order the timers were drawn (which draws more timers). */
static void generate(uint64_t seed) {
  gen g = {.r = {seed}, .large = seed >= LARGE_SEEDS, .huge_left = HUGE_BUDGET, .recent = 8};
  prog.ntimers = prog.nactions = prog.nscripts = prog.nrounds = 0;
  g.timers_left = g.large ? 40000 : 30 + below(&g.r, 40);
  g.npalette = 2 + below(&g.r, 5);
  for (size_t i = 0; i < g.npalette; i++) /* a near neighbour makes ties after a short advance */
    g.palette[i] = i && g.palette[i - 1] > 8 && chance(&g.r, 50) ? g.palette[i - 1] - 1 - below(&g.r, 8)
                                                                  : fresh_ms(&g.r);
  size_t nrounds = g.large ? 30 + below(&g.r, 20) : 2 + below(&g.r, 8);
  for (size_t i = 0; i < nrounds; i++) {
    bool burst = g.large && chance(&g.r, 15);
    size_t n = burst ? 500 + below(&g.r, 2500) : below(&g.r, 5);
    g.spread = burst && chance(&g.r, 50);
    span actions = draw_actions(&g, n, 0, -1, burst ? 100 : 75);
    g.spread = false;
    if (burst && chance(&g.r, 50)) { /* most of the burst cleared: dead lists by the hundred */
      for (size_t k = prog.ntimers - n; k < prog.ntimers; k++)
        if (chance(&g.r, 85))
          *PUSH(prog.actions, prog.nactions, prog.actions_cap) = (action){true, (uint32_t)k};
      actions.end = (uint32_t)prog.nactions;
    } else if (g.large && chance(&g.r, 10)) { /* a mass clear, of the burst or of what is left */
      g.recent = burst ? n : 4000;
      actions.end = draw_actions(&g, 200 + below(&g.r, 1800), 0, -1, 0).end;
      g.recent = 8;
    }
    round_spec round = draw_control(&g, actions);
    if (i == nrounds - 1)
      round.control = RUN_ALL;
    g.tie_elapsed += round.ms;
    if (round.control != ADVANCE)
      g.tie_ms = 0;
    *PUSH(prog.rounds, prog.nrounds, prog.rounds_cap) = round;
  }
  for (size_t k = 0; k < prog.ntimers; k++) {
    prog.timers[k].scripts = (uint32_t)prog.nscripts;
    unsigned runs = prog.timers[k].runs, depth = prog.timers[k].depth + 1u;
    for (unsigned run = 0; run < runs; run++) {
      size_t n = g.large && chance(&g.r, 1) ? 100 + below(&g.r, 700) : chance(&g.r, 45) ? 0 : 1 + below(&g.r, 3);
      span s = draw_actions(&g, n, depth, (int64_t)k, n >= 100 ? 100 : 55);
      *PUSH(prog.scripts, prog.nscripts, prog.scripts_cap) = s;
    }
  }
}

/* ---- the two sides --------------------------------------------------------------- */

typedef struct {
  uint32_t timer;
  uint64_t ms;
} fired;

typedef struct {
  const char *name;
  void (*set)(uint32_t timer);
  void (*clear)(uint32_t timer);
  uint32_t *runs; /* callbacks so far, by timer */
  fired *log;
  size_t len, cap;
} side;

static void perform(side *s, action a) { (a.clear ? s->clear : s->set)(a.timer); }

static void perform_all(side *s, span actions) {
  for (uint32_t i = actions.begin; i < actions.end; i++)
    perform(s, prog.actions[i]);
}

/* Timer k's callback at now: its script for this run; an interval's last
 * run clears it. */
static void fire(side *s, uint32_t k, uint64_t now) {
  *PUSH(s->log, s->len, s->cap) = (fired){k, now};
  const timer_spec *t = &prog.timers[k];
  perform_all(s, prog.scripts[t->scripts + s->runs[k]++]);
  if (t->interval && s->runs[k] == t->runs)
    s->clear(k);
}

/* The clockwork side: the core's timers on the harness's virtual clock. */
static cw_timer **handles; /* by timer; NULL until set */
static side on_clock;

static void on_timeout(void *arg) { fire(&on_clock, (uint32_t)(uintptr_t)arg, cw_clock_now(h)); }

static void clock_set(uint32_t k) {
  const timer_spec *t = &prog.timers[k];
  void *arg = (void *)(uintptr_t)k;
  handles[k] = t->interval ? cw_set_interval(loop, t->ms, on_timeout, arg) : cw_set_timeout(loop, t->ms, on_timeout, arg);
}

static void clock_clear(uint32_t k) { cw_clear(handles[k]); }

static side on_clock = {"clock", clock_set, clock_clear, NULL, NULL, 0, 0};

/* ---- the model --------------------------------------------------------------------
 * Node's timers, naively: a list per duration, its timers in insertion
 * order, and the queue of lists (an array, scanned for the least (expiry,
 * id)). A list gets a new id from the same counter each time it is queued. */

typedef struct {
  uint64_t msecs, expiry, id;
  bool mapped;       /* the list of its duration, in the queue (timerListMap, timerListQueue) */
  uint32_t *timers;  /* pending: [head, len) */
  size_t head, len, cap;
} mlist;

typedef enum { UNSET, PENDING, RUNNING, DONE } mstate;

typedef struct {
  uint64_t start;
  mlist *list; /* PENDING: its list */
  mstate state;
  bool cleared; /* RUNNING: cleared by its own callback */
} mtimer;

/* What the programs reached, summed over a test's seeds. */
typedef struct {
  size_t programs, callbacks, ties, requeues, below_deadline, max_pending, max_lists;
  uint64_t max_ms, max_now;
} coverage;

static struct {
  uint64_t now, next_id;
  mlist **all, **queue; /* every list made; the mapped ones */
  size_t nall, all_cap, queued, queue_cap;
  mtimer *timers;       /* by timer */
  size_t pending;
  coverage *cov;
} model;

static side in_model;

/* The queue's earliest list, NULL if empty; *tied: another shares its expiry. */
static mlist *earliest(bool *tied) {
  mlist *best = NULL;
  size_t same = 0;
  for (size_t i = 0; i < model.queued; i++) {
    mlist *l = model.queue[i];
    if (!best || l->expiry < best->expiry || (l->expiry == best->expiry && l->id < best->id)) {
      same = best && l->expiry == best->expiry ? same + 1 : 1;
      best = l;
    } else if (l->expiry == best->expiry) {
      same++;
    }
  }
  if (tied)
    *tied = same > 1;
  return best;
}

static mlist *mapped_list(uint64_t msecs) {
  for (size_t i = 0; i < model.queued; i++)
    if (model.queue[i]->msecs == msecs)
      return model.queue[i];
  return NULL;
}

static void unmap(mlist *l) {
  size_t i = 0;
  while (model.queue[i] != l)
    i++;
  model.queue[i] = model.queue[--model.queued];
  l->mapped = false;
}

/* Node's insert(): appends to the list of msecs, made and queued if none. */
static void model_insert(uint32_t k, uint64_t msecs, uint64_t start) {
  mlist *l = mapped_list(msecs);
  if (!l) {
    mlist *top = earliest(NULL);
    if (top && start + msecs < top->expiry)
      model.cov->below_deadline++;
    assert_non_null(l = calloc(1, sizeof *l));
    *l = (mlist){.msecs = msecs, .expiry = start + msecs, .id = model.next_id++, .mapped = true};
    *PUSH(model.all, model.nall, model.all_cap) = l;
    *PUSH(model.queue, model.queued, model.queue_cap) = l;
  }
  *PUSH(l->timers, l->len, l->cap) = k;
  model.timers[k] = (mtimer){start, l, PENDING, false};
  model.pending++;
  coverage *c = model.cov;
  c->max_pending = model.pending > c->max_pending ? model.pending : c->max_pending;
  c->max_lists = model.queued > c->max_lists ? model.queued : c->max_lists;
  c->max_ms = msecs > c->max_ms ? msecs : c->max_ms;
}

static void model_set(uint32_t k) { model_insert(k, duration(&prog.timers[k]), model.now); }

/* Node's clearTimeout: unlinks a pending timer (an emptied list goes),
 * stops a running one; a no-op on others. */
static void model_clear(uint32_t k) {
  mtimer *t = &model.timers[k];
  if (t->state == RUNNING) {
    t->cleared = true;
  } else if (t->state == PENDING) {
    mlist *l = t->list;
    size_t i = l->head;
    while (l->timers[i] != k)
      i++;
    memmove(&l->timers[i], &l->timers[i + 1], (l->len - i - 1) * sizeof l->timers[0]);
    l->len--;
    model.pending--;
    t->state = DONE;
    if (l->head == l->len)
      unmap(l);
  }
}

/* Node's listOnTimeout: l's timers in order while due at now; at the first
 * one not due, l waits for it, queued anew. An interval goes back to the
 * end of its list once its callback returns, from now. */
static void list_on_timeout(mlist *l, uint64_t now) {
  while (l->head < l->len) {
    uint32_t k = l->timers[l->head];
    mtimer *t = &model.timers[k];
    if (t->start + l->msecs > now) {
      l->expiry = t->start + l->msecs > now + 1 ? t->start + l->msecs : now + 1;
      l->id = model.next_id++;
      model.cov->requeues++;
      return;
    }
    l->head++;
    model.pending--;
    t->state = RUNNING;
    fire(&in_model, k, now);
    if (prog.timers[k].interval && !t->cleared)
      model_insert(k, l->msecs, now);
    else
      t->state = DONE;
  }
  if (l->mapped) /* not emptied by a clear (and replaced) meanwhile */
    unmap(l);
}

/* Node's processTimers: every list due at now, earliest first. */
static void process_timers(uint64_t now) {
  mlist *l;
  bool tied;
  while ((l = earliest(&tied)) && l->expiry <= now) {
    model.cov->ties += tied;
    list_on_timeout(l, now);
  }
}

/* The controls: the clock goes from deadline to deadline. */
static bool model_next(void) {
  mlist *l = earliest(NULL);
  if (!l)
    return false;
  process_timers(model.now = l->expiry);
  return true;
}

static void model_advance(uint64_t ms) {
  mlist *l;
  while ((l = earliest(NULL)) && l->expiry <= model.now + ms) {
    ms -= l->expiry - model.now;
    model_next();
  }
  model.now += ms;
}

static side in_model = {"model", model_set, model_clear, NULL, NULL, 0, 0};

static void model_free(void) {
  for (size_t i = 0; i < model.nall; i++) {
    free(model.all[i]->timers);
    free(model.all[i]);
  }
  free(model.all);
  free(model.queue);
  free(model.timers);
}

/* ---- running and comparing ------------------------------------------------------- */

static uint64_t running_seed;
static size_t running_round;
static round_spec playing; /* running_round's, as played */

static void mismatch(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void mismatch(const char *fmt, ...) {
  char what[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  char control[64];
  snprintf(control, sizeof control, playing.control == ADVANCE ? "%s %" PRIu64 " ms" : "%s",
           control_names[playing.control], playing.ms);
  fail_msg("seed %" PRIu64 " (TIMER_ORDER_SEED=%" PRIu64 " reruns it), round %zu (%s): %s", running_seed, running_seed,
           running_round, control, what);
}

static void print_window(const side *s, size_t at) {
  print_error("  %s:", s->name);
  for (size_t i = at > 6 ? at - 6 : 0; i < s->len && i < at + 6; i++)
    print_error(i == at ? " [%" PRIu32 "@%" PRIu64 "]" : " %" PRIu32 "@%" PRIu64, s->log[i].timer, s->log[i].ms);
  print_error(at < s->len ? "\n" : " [end]\n");
}

/* The callbacks since the last check are the model's. */
static void compare_logs(size_t *checked) {
  size_t i = *checked;
  while (i < on_clock.len && i < in_model.len && on_clock.log[i].timer == in_model.log[i].timer &&
         on_clock.log[i].ms == in_model.log[i].ms)
    i++;
  if (i < on_clock.len || i < in_model.len) {
    print_window(&on_clock, i);
    print_window(&in_model, i);
    mismatch("the callbacks diverge at callback %zu (timer@ms above)", i);
  }
  *checked = i;
}

static uint64_t *clock_due; /* by timer, from cw_loop_timers; UINT64_MAX: not armed */

static void note_due(void *base, const cw_timer_info *info) {
  uint32_t k = (uint32_t)(uintptr_t)info->arg;
  if (strcmp(info->kind, prog.timers[k].interval ? "interval" : "timeout") != 0)
    mismatch("timer %" PRIu32 " is listed as a%s %s", k, info->kind[0] == 'i' ? "n" : "", info->kind);
  clock_due[k] = info->due - *(uint64_t *)base;
}

/* Each pending timer is due when the model says, and no other is armed. */
static void compare_dues(void) {
  for (size_t k = 0; k < prog.ntimers; k++)
    clock_due[k] = UINT64_MAX;
  uint64_t base = uv_now(cw_loop_uv(loop)) - cw_clock_now(h); /* loop time at virtual 0 */
  cw_loop_timers(loop, note_due, &base);
  for (uint32_t k = 0; k < prog.ntimers; k++) {
    const mtimer *t = &model.timers[k];
    uint64_t due = t->state == PENDING ? t->start + t->list->msecs : UINT64_MAX;
    if (clock_due[k] != due)
      mismatch("timer %" PRIu32 " is due at %" PRId64 " ms on the clock, at %" PRId64 " ms in the model (-1: none)", k,
               (int64_t)clock_due[k], (int64_t)due);
  }
}

static bool clock_control(const round_spec *r) {
  switch (r->control) {
  case ADVANCE:
    cw_clock_advance(h, r->ms);
    return true;
  case NEXT:
    return cw_clock_next(h);
  default:
    cw_clock_run_all(h);
    return true;
  }
}

static bool model_control(const round_spec *r) {
  switch (r->control) {
  case ADVANCE:
    model_advance(r->ms);
    return true;
  case NEXT:
    return model_next();
  default:
    while (model_next()) {
    }
    return true;
  }
}

static void reset_side(side *s) {
  s->len = 0;
  assert_non_null(s->runs = calloc(prog.ntimers, sizeof *s->runs));
}

/* A bound on the deadlines a control may reach: each fires a callback or
 * requeues a list a clear left early. Tighter than the default, it stops a
 * queue that would step through a long wait 1 ms at a time. */
static size_t deadlines_bound(void) {
  size_t runs = 0;
  for (size_t k = 0; k < prog.ntimers; k++)
    runs += prog.timers[k].runs;
  return 2 * (runs + prog.nactions) + 10000;
}

static void run_program(uint64_t seed, coverage *cov) {
  generate(seed);
  running_seed = seed;
  cw_harness_opts opts = {.seed = CAPTURE_SEED, .max_timer_firings = deadlines_bound(), .allow = CW_ALLOW_TIMERS};
  assert_int_equal(harness_open(opts), 0);
  reset_side(&on_clock);
  reset_side(&in_model);
  assert_non_null(handles = calloc(prog.ntimers, sizeof *handles));
  assert_non_null(clock_due = calloc(prog.ntimers, sizeof *clock_due));
  model = (typeof(model)){.cov = cov};
  assert_non_null(model.timers = calloc(prog.ntimers, sizeof *model.timers));
  size_t checked = 0;
  for (running_round = 0; running_round < prog.nrounds; running_round++) {
    playing = prog.rounds[running_round];
    perform_all(&on_clock, playing.actions);
    perform_all(&in_model, playing.actions);
    bool clock_had = clock_control(&playing), model_had = model_control(&playing);
    compare_logs(&checked);
    if (clock_had != model_had)
      mismatch("cw_clock_next returned %d, the model %d", clock_had, model_had);
    if (cw_clock_now(h) != model.now)
      mismatch("the clock is at %" PRIu64 " ms, the model at %" PRIu64, cw_clock_now(h), model.now);
    if (cw_clock_timer_count(h) != model.pending)
      mismatch("%zu timers armed, %zu in the model", cw_clock_timer_count(h), model.pending);
    compare_dues();
  }
  assert_int_equal(model.pending, 0); /* the last round runs them all */
  harness_close();
  if (unchecked_failures())
    mismatch("the harness reported failures (above)");
  cov->programs++;
  cov->callbacks += in_model.len;
  cov->max_now = model.now > cov->max_now ? model.now : cov->max_now;
  model_free();
  free(handles);
  free(clock_due);
  free(on_clock.runs);
  free(in_model.runs);
}

/* Runs count seeds from first, or only $TIMER_ORDER_SEED if set (when in
 * that range); prints what they reached. false when the seed was given. */
static bool run_seeds(uint64_t first, uint64_t count, coverage *cov) {
  const char *given = getenv("TIMER_ORDER_SEED");
  if (given && *given) {
    uint64_t seed = strtoull(given, NULL, 0);
    if (seed >= first && (first >= LARGE_SEEDS || seed < LARGE_SEEDS))
      run_program(seed, cov);
    return false;
  }
  for (uint64_t seed = first; seed < first + count; seed++)
    run_program(seed, cov);
  print_message("%zu programs, %zu callbacks: %zu ties between lists of different durations, %zu requeued lists, "
                "%zu lists due before the deadline armed, up to %zu timers in %zu lists pending, durations up to "
                "%" PRIu64 " ms, the clock up to %" PRIu64 " ms\n",
                cov->programs, cov->callbacks, cov->ties, cov->requeues, cov->below_deadline, cov->max_pending,
                cov->max_lists, cov->max_ms, cov->max_now);
  return true;
}

static void small_programs_fire_in_node_order(void **state) {
  (void)state;
  coverage cov = {0};
  if (!run_seeds(1, SMALL_PROGRAMS, &cov))
    return;
  /* The generator keeps reaching the hard cases. */
  assert_true(cov.ties >= 1000);
  assert_true(cov.requeues >= 1000);
  assert_true(cov.below_deadline >= 1000);
  assert_true(cov.max_ms >= HUGE_MS);
}

static void large_programs_fire_in_node_order(void **state) {
  (void)state;
  coverage cov = {0};
  if (!run_seeds(LARGE_SEEDS, LARGE_PROGRAMS, &cov))
    return;
  assert_true(cov.ties >= 100);
  assert_true(cov.requeues >= 1000);
  assert_true(cov.max_pending >= 5000);
  assert_true(cov.max_lists >= 1000);
}

/* ---- bursts too large for the model ----------------------------------------------
 * A burst sets n timeouts at once: timers i and i + n / 2 share the
 * duration 1 + (i * 7919) % (n / 2) ms (a shuffle), so each list holds
 * two, which fire in the order set; then it clears some of them, both of a
 * list or one. They fire by deadline, then by i. The bursts grow, each
 * outgrowing the duration map, pools and queue arrays of the last one; each
 * starts at 1 ms before a multiple of 2^18 ms of the loop's time, so that
 * its lists share one bucket of the queue's fourth level (6-bit digits),
 * whose array grows past a block too. Memory freed by one of them then
 * serves another (core/memory.c); under ASan a block freed and still used
 * is reported. */
enum { BURSTS = 3, FIRST_BURST = 40000 };

static struct {
  size_t n;
  uint64_t start;  /* cw_clock_now when set */
  size_t fired, late, early, unordered, fired_twice;
  uint64_t last_due; /* the last callback's, with its timer */
  size_t last_i;
  bool *done;        /* by timer: fired or cleared */
} burst;

static uint64_t burst_ms(size_t i) { return 1 + (uint64_t)(i % (burst.n / 2)) * 7919 % (burst.n / 2); }
static bool burst_cleared(size_t i) { return i < burst.n / 2 ? i % 5 == 0 : i % 3 == 0; }

static void burst_fire(void *arg) {
  size_t i = (uintptr_t)arg;
  uint64_t due = burst.start + burst_ms(i), now = cw_clock_now(h);
  burst.fired++;
  burst.late += now > due;
  burst.early += now < due;
  burst.unordered += burst.fired > 1 && (due < burst.last_due || (due == burst.last_due && i < burst.last_i));
  burst.fired_twice += burst.done[i];
  burst.done[i] = true;
  burst.last_due = due;
  burst.last_i = i;
}

static void bursts_too_large_for_the_model_fire_in_order(void **state) {
  (void)state;
  assert_int_equal(harness_open((cw_harness_opts){.seed = CAPTURE_SEED, .max_timer_firings = 1000000}), 0);
  uv_loop_t *uv = cw_loop_uv(loop);
  for (size_t b = 0, n = FIRST_BURST; b < BURSTS; b++, n = n * 5 / 2) {
    uint64_t bucket = UINT64_C(1) << 18;
    cw_clock_advance(h, bucket - 1 - uv_now(uv) % bucket);
    burst = (typeof(burst)){.n = n, .start = cw_clock_now(h)};
    assert_non_null(burst.done = calloc(n, sizeof *burst.done));
    cw_timer **timers = calloc(n, sizeof *timers);
    assert_non_null(timers);
    for (size_t i = 0; i < n; i++)
      timers[i] = cw_set_timeout(loop, burst_ms(i), burst_fire, (void *)(uintptr_t)i);
    size_t cleared = 0;
    for (size_t i = 0; i < n; i++)
      if (burst_cleared(i)) {
        cw_clear(timers[i]);
        burst.done[i] = true;
        cleared++;
      }
    assert_int_equal(cw_clock_timer_count(h), n - cleared);
    cw_clock_run_all(h);
    assert_int_equal(burst.fired, n - cleared);
    assert_int_equal(burst.late + burst.early + burst.unordered + burst.fired_twice, 0);
    assert_int_equal(cw_clock_timer_count(h), 0);
    assert_int_equal(cw_clock_now(h), burst.start + n / 2);
    free(timers);
    free(burst.done);
  }
}

static int free_programs(void **state) {
  (void)state;
  free(prog.timers);
  free(prog.actions);
  free(prog.scripts);
  free(prog.rounds);
  free(on_clock.log);
  free(in_model.log);
  return 0;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      harness_test_opening(small_programs_fire_in_node_order),
      harness_test_opening(large_programs_fire_in_node_order),
      harness_test_opening(bursts_too_large_for_the_model_fire_in_order),
  };
  return cmocka_run_group_tests_name("timer order", tests, NULL, free_programs);
}
