/* cwtrace: a CW_TRACE file (JSON lines) read into runs of labels and
 * operations, and written as Chrome Trace Event JSON or as an SVG timeline. */
#ifndef CWTRACE_H
#define CWTRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* {"label": "A", "time_ms": 0, "phase": "timers", "macrotask": 3} */
typedef struct tr_label {
  char *label;
  char *phase;
  double time_ms;
  uint64_t macrotask;
} tr_label;

/* {"op": "fs.read", "subject": "/db/1", "start_ms": 0, "end_ms": 50, "result": 0} */
typedef struct tr_op {
  char *op;
  char *subject;
  double start_ms, end_ms;
  int64_t result;
  size_t lane; /* the first lane free at start_ms, from 0 */
} tr_op;

/* One harness's trace: the lines from one restart of virtual time (or one
 * {"run": ...} line) to the next. */
typedef struct tr_run {
  tr_label *labels;
  size_t n_labels, labels_cap;
  tr_op *ops; /* in file order */
  size_t n_ops, ops_cap;
  size_t lanes;
  double end_ms; /* the latest time of any line */
} tr_run;

typedef struct tr_trace {
  tr_run *runs;
  size_t n_runs, runs_cap;
} tr_trace;

/* Reads the JSON lines of f into t (zeroed by the caller), splitting runs
 * and assigning lanes. On a malformed line returns false with
 * "name:line:column: why" in err; t must be freed either way. */
bool tr_read(tr_trace *t, FILE *f, const char *name, char *err, size_t err_size);
void tr_free(tr_trace *t);

/* Writes t as Chrome Trace Event JSON: one process per run, one thread per
 * lane, labels as instant events on thread 0. False on a write error. */
bool tr_write_chrome(const tr_trace *t, FILE *out);
/* Writes t as an SVG timeline, one section per run, titled title. */
bool tr_write_svg(const tr_trace *t, const char *title, FILE *out);

#endif
