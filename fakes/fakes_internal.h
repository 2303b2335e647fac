/* Internals of the fakes, shared by their files: the backend and its
 * schedule of events in virtual time (fakes.c), the rules (rules.c), and
 * the file system (fs.c), network (net.c) and DNS (dns.c) behind it. */
#ifndef CLOCKWORK_FAKES_INTERNAL_H
#define CLOCKWORK_FAKES_INTERNAL_H

#include "clockwork/fakes.h"
#include "harness_internal.h"

#include <stdint.h>

#define FAKE_MS UINT64_C(1000000) /* ns */
#define FAKE_NEVER UINT64_MAX

typedef struct fakes fakes;
typedef struct fake_event fake_event;
typedef void (*fake_event_fn)(fakes *f, fake_event *e);

/* Something to do at a virtual time, embedded in its owner's struct. */
struct fake_event {
  uint64_t deadline; /* virtual ns since the harness began */
  uint64_t order;    /* among equal deadlines: issue order, or seeded when shuffling */
  uint64_t issued;   /* when scheduled, in scheduling order */
  fake_event_fn fn;
  size_t index;      /* in the schedule; SIZE_MAX when not scheduled */
};

/* What the rules decided for an operation, at its start. */
typedef struct fake_plan {
  uint64_t latency; /* ns */
  cw_fault fault;   /* kind CW_FAULT_NONE: none; a code is always set with a fault */
} fake_plan;

/* An operation of the fs, DNS or work areas, from its start to its
 * deadline (op->backend_data points to it). */
typedef struct fake_op fake_op;
/* Does o->op in memory, at its deadline, and completes it (fakes_complete)
 * exactly once; o->plan.fault is NONE or SHORT there, or for fs.close an
 * ERROR (the descriptor is released all the same, as on Linux). */
typedef void (*fake_perform_fn)(fakes *f, fake_op *o);
struct fake_op {
  fake_event event; /* first */
  cw_io_op *op;
  fake_plan plan;
  fake_perform_fn perform;
  fake_op *next_spare; /* in fakes.spare_ops once finished */
};

typedef struct fake_fs fake_fs;
typedef struct fake_net fake_net;
typedef struct fake_dns fake_dns;
typedef struct fake_rules fake_rules;

struct fakes {
  cw_harness *h;
  cw_loop *loop;
  cw_io_backend backend;
  uv_timer_t timer;         /* fires at the first deadline; ref'd while events wait */
  fake_event **schedule;    /* a binary heap by (deadline, order) */
  size_t len, cap;
  uint64_t issued;
  fake_fs *fs;
  fake_net *net;
  fake_dns *dns;
  fake_rules *rules;
  fake_op *spare_ops; /* finished, for the next operations */
  /* cw_fault_sweep's hook: called after each operation completes (the k-th
   * power cut); NULL otherwise */
  void (*after_complete)(fakes *f, const cw_io_op *op, void *arg);
  void *after_complete_arg;
};

/* ---- fakes.c ------------------------------------------------------------------ */

/* The harness's fakes, or NULL after a failure naming function at the
 * caller's site (file, line) when the harness has none (opts.real_io) or
 * h is NULL. */
fakes *fakes_of(cw_harness *h, const char *function, const char *file, int line);
/* A misuse with no harness to fail (h or p NULL), printed to stderr as
 * the core prints its own: "clockwork: misuse of function at file:line: ...". */
void fakes_misuse(const char *function, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
uint64_t fakes_now(const fakes *f); /* virtual ns */
/* Runs e->fn at deadline (not before now), in the timers phase of that
 * iteration: an event's fn completes operations with cw_io_complete_soon,
 * so they are delivered in the poll phase that follows. e must not be
 * scheduled already. */
void fakes_schedule(fakes *f, fake_event *e, uint64_t deadline, fake_event_fn fn);
/* Takes e off the schedule; nothing when it is not on it. */
void fakes_unschedule(fakes *f, fake_event *e);
static inline bool fakes_scheduled(const fake_event *e) { return e->index != SIZE_MAX; }
/* Completes op (cw_io_complete_soon) after the probes' and the sweep's hooks. */
void fakes_complete(fakes *f, cw_io_op *op, intptr_t result, void *value);
/* The same at once (cw_io_complete), from the close phase: net.close. */
void fakes_complete_now(fakes *f, cw_io_op *op, intptr_t result);
/* Runs op as plan says: at now plus its latency, perform (a fault of kind
 * ERROR or RESET completes it with the code instead, with no effect; HANG
 * leaves it pending until cancelled). For the fs, DNS and work areas. */
void fakes_run_op(fakes *f, cw_io_op *op, fake_plan plan, fake_perform_fn perform);
/* Cancels an operation started with fakes_run_op: UV_ECANCELED, at once. */
void fakes_cancel_op(fakes *f, cw_io_op *op);
/* A seeded number in [0, 1). */
double fakes_uniform(fakes *f);
/* A failure of the test at the caller's site. */
void fakes_fail(fakes *f, const char *file, int line, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* ---- rules.c ---------------------------------------------------------------------- */

/* The subject rules match: the path (fs), "host:port" (net), the name (dns),
 * "" for work; written into buf when it must be built. */
const char *rules_subject(const cw_io_op *op, char *buf, size_t size);
/* Counts op's matches and decides its latency and fault. */
fake_plan rules_plan(fakes *f, const cw_io_op *op);
void rules_destroy(fakes *f);
/* Whether pattern (NULL: any) matches cw_op_name(kind). */
bool rules_op_matches(const char *pattern, cw_op_kind kind);
/* The kinds whose names pattern (NULL: any) matches: bit k for kind k. */
uint32_t rules_op_kinds(const char *pattern);
_Static_assert(CW_OP_COUNT <= 32, "a set of kinds is the bits of a uint32_t");
/* Checks of a spec's fields, shared with the sweep: true when bad, with why
 * written naming field. */
bool rules_bad_ops(const char *pattern, const char *field, char *why, size_t size);
bool rules_bad_fault(const cw_fault *fault, const char *field, char *why, size_t size);

/* ---- sweep.c ---------------------------------------------------------------------- */

/* The sweep's say in op's plan (rules_plan asks it last): counts the
 * operations it sweeps and gives the k-th its fault; after a power cut,
 * every operation hangs. Nothing outside a sweep's run. */
void sweep_plan(fakes *f, const cw_io_op *op, fake_plan *plan);

/* ---- the areas: each submits and cancels its kinds of operations ---------------------- */

/* fs and DNS run their operations with fakes_run_op (fakes.c cancels
 * them); the network has its own life for each. */
void fs_submit(fakes *f, cw_io_op *op, fake_plan plan);
/* The path descriptor fd was opened with; NULL when it is not open. */
const char *fs_fd_path(fakes *f, int fd);
void fs_destroy(fakes *f);
void net_submit(fakes *f, cw_io_op *op, fake_plan plan);
void net_cancel(fakes *f, cw_io_op *op);
void net_destroy(fakes *f);
void dns_submit(fakes *f, cw_io_op *op, fake_plan plan);
void dns_destroy(fakes *f);
/* Teardown checks of the areas: fake files left open (reported where they
 * were opened), scripts unplayed (where their next step was written). */
void fs_teardown(fakes *f);
void net_teardown(fakes *f);

#endif
