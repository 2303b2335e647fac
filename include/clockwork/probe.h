/* clockwork probes: how concurrent the code under test really was.
 *
 * A probe counts the fakes' operations (fakes.h) whose name matches its
 * pattern, from cw_probe_begin to cw_probe_end: how many started, how many
 * were in flight at once, and the time they spent in flight. Their sum of
 * latencies over the time elapsed is the effective concurrency: the mean
 * number in flight. N operations of L ms each take about L when they run
 * in parallel (concurrency N) and N × L when an await inside a loop
 * serializes them (concurrency 1); the assertions tell the two apart.
 *
 * On virtual time the figures are exact. With opts.real_time (harness.h)
 * latencies elapse for real and the assertions judge the wall time
 * (CLOCK_MONOTONIC_RAW) with a tolerance of CW_PROBE_TOLERANCE of it plus
 * CW_PROBE_SLACK_MS, for the scheduling noise of a real machine. */
#ifndef CLOCKWORK_PROBE_H
#define CLOCKWORK_PROBE_H

#include "harness.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CW_PROBE_TOLERANCE 0.25 /* real time: the wall time may be off by this fraction... */
#define CW_PROBE_SLACK_MS 5.0   /* ...plus this */

typedef struct cw_probe cw_probe;

typedef struct cw_probe_figures {
  size_t ops;            /* matching operations started in the window */
  size_t completed;      /* of those, completed in it */
  size_t peak_in_flight; /* of those, the most in flight at once */
  double virtual_ms;     /* the window's length in virtual time */
  double wall_ms;        /* and in wall time (CLOCK_MONOTONIC_RAW) */
  double latency_ms;     /* the time they spent in flight inside the window: the sum of their
                            latencies (completion - start, virtual) when all completed in it */
  double concurrency;    /* latency_ms / virtual_ms (real time: / wall_ms); 0 for an empty window */
} cw_probe_figures;

/* Starts counting the operations whose name (cw_op_name: "fs.read") matches
 * pattern ("fs.read", "net.*", "*": fnmatch(3)), from now. NULL and a
 * failure for a bad argument or a harness without fakes (opts.real_io). */
#define cw_probe_begin(h, pattern) cw_probe_begin_at(h, pattern, CW_HERE)
CW_EXTERN cw_probe *cw_probe_begin_at(cw_harness *h, const char *pattern, const char *file, int line);
/* Stops counting: the figures stay as they are now. Freeing the harness
 * ends its probes too. NULL or an ended probe: nothing. */
CW_EXTERN void cw_probe_end(cw_probe *p);
/* The figures: until now while the probe counts, else its window's. */
CW_EXTERN cw_probe_figures cw_probe_figures_of(const cw_probe *p);
/* Frees p (ending it first); NULL is fine. */
CW_EXTERN void cw_probe_free(cw_probe *p);

/* Assertions over the figures so far: true when they hold; otherwise a
 * failure of the test saying what ran how, and what to look for. Both fail
 * when no matching operation started or none took time (nothing to judge).
 * Parallel: an effective concurrency of at least min (real time: a wall
 * time at most latency / min, within the tolerance). Serial: at most 1
 * (real time: a wall time at least the latency, within the tolerance). */
#define cw_probe_assert_parallel(p, min) cw_probe_assert_parallel_at(p, min, CW_HERE)
#define cw_probe_assert_serial(p) cw_probe_assert_serial_at(p, CW_HERE)
CW_EXTERN bool cw_probe_assert_parallel_at(const cw_probe *p, double min, const char *file, int line);
CW_EXTERN bool cw_probe_assert_serial_at(const cw_probe *p, const char *file, int line);

#ifdef __cplusplus
}
#endif
#endif
