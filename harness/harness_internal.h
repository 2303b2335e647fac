/* Internals of the harness, shared by its files: the harness object, the
 * virtual clock (clock.c) and the trace (trace.c). */
#ifndef CLOCKWORK_HARNESS_INTERNAL_H
#define CLOCKWORK_HARNESS_INTERNAL_H

#include "clockwork/harness.h"
#include "clockwork/io.h"

#include <stdarg.h>

typedef struct vclock vclock; /* clock.c */
typedef struct trace trace;   /* trace.c */
typedef struct fakes fakes;   /* fakes/ */

struct cw_harness {
  cw_harness_opts opts;
  cw_loop *loop;
  uint64_t seed;
  unsigned failures;
  bool tearing_down; /* cw_loop_free's reports were checked already */
  vclock *clock;
  trace *trace;
  fakes *fakes; /* NULL with opts.real_io */
  cw_rejection *unhandled; /* unhandled rejections seen, reported at teardown */
  size_t unhandled_len, unhandled_cap;
};

/* The harness of this process, NULL when there is none. */
extern cw_harness *harness_current;

/* Reports a failure through opts.fail, with the seed appended. */
void harness_failv(cw_harness *h, const char *file, int line, const char *fmt, va_list ap);

/* clock.c: virtual time under libuv from clock_start until clock_stop. */
void clock_start(cw_harness *h);
void clock_stop(cw_harness *h);
/* The virtual time in ns, and the virtual time of a loop time (uv_now). */
uint64_t clock_now_ns(const cw_harness *h);
uint64_t clock_of_loop_ms(const cw_harness *h, uint64_t loop_ms);
/* Counts clock jumps made by cw_harness_run's auto-advance, against the guard. */
void clock_run_begin(cw_harness *h);
bool clock_run_end(cw_harness *h); /* true if the guard stopped the run */

/* fakes/fakes.c: made and installed on the harness's loop by
 * cw_harness_new (unless opts.real_io); fakes_teardown checks what the
 * fakes hold (files left open, scripts unplayed), fakes_close closes their
 * handle before cw_loop_free, fakes_destroy frees them after it. */
fakes *fakes_new(cw_harness *h);
void fakes_teardown(fakes *f); /* each report names its own site: an open, a script step */
void fakes_close(fakes *f);
void fakes_destroy(fakes *f);
/* True for the fakes' own handle: not the user's, not reported. */
bool fakes_owns_handle(const cw_harness *h, const uv_handle_t *handle);

/* probe.c: the fakes tell the probes of each operation as it starts and
 * as it completes. */
void probe_op_started(cw_harness *h, const cw_io_op *op);
void probe_op_completed(cw_harness *h, const cw_io_op *op, intptr_t result);

/* blocking.c: the blocking detector, on h's loop when opts.blocking_ms is set. */
void blocking_install(cw_harness *h);
/* A function's name for a report: symbol+offset, else module(+offset) when
 * the symbol is not exported, else the address (the core's, core/misuse.c). */
const char *cw__describe_fn(const void *fn, char *buf, size_t size);
static inline const char *harness_fn_name(cw_fn fn, char *buf, size_t size) {
  return cw__describe_fn((const void *)(uintptr_t)fn, buf, size);
}

/* trace.c */
bool trace_init(cw_harness *h); /* false when out of memory */
/* Writes the trace as JSON lines, after what path holds when append is set. */
int trace_write_json(const cw_harness *h, const char *path, bool append);
void trace_destroy(cw_harness *h);

#endif
