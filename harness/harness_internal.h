/* Internals of the harness, shared by its files: the harness object, the
 * virtual clock (clock.c) and the trace (trace.c). */
#ifndef CLOCKWORK_HARNESS_INTERNAL_H
#define CLOCKWORK_HARNESS_INTERNAL_H

#include "clockwork/harness.h"

#include <stdarg.h>

typedef struct vclock vclock; /* clock.c */
typedef struct trace trace;   /* trace.c */

struct cw_harness {
  cw_harness_opts opts;
  cw_loop *loop;
  uint64_t seed;
  unsigned failures;
  bool tearing_down; /* cw_loop_free's reports were checked already */
  vclock *clock;
  trace *trace;
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
/* Counts clock jumps made by cw_harness_run's auto-advance, against the guard. */
void clock_run_begin(cw_harness *h);
bool clock_run_end(cw_harness *h); /* true if the guard stopped the run */

/* trace.c */
bool trace_init(cw_harness *h); /* false when out of memory */
/* Writes the trace as JSON lines, after what path holds when append is set. */
int trace_write_json(const cw_harness *h, const char *path, bool append);
void trace_destroy(cw_harness *h);

#endif
