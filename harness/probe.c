/* Probes: the fakes' operations counted as they start and complete, and
 * the verdicts on how concurrent they were.
 *
 * A probe does not keep each operation's start: the time operations spend
 * in flight is the integral of the number in flight, summed at each change
 * of that number, which is the sum of their latencies once all completed.
 * An operation is the probe's when its id (issue order on the loop) is
 * greater than that of the last operation started before the probe began. */
#include "fakes_internal.h"
#include "ops_internal.h"

#include "clockwork/probe.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MS 1e6 /* ns */

struct cw_probe {
  cw_harness *h;  /* NULL once the harness is freed */
  cw_probe *next; /* in the list of live probes */
  char *pattern;
  uint32_t kinds; /* of the operations pattern names: bit k for kind k */
  bool counting, real_time;
  uint64_t after_id;
  uint64_t begin_ns, end_ns;           /* virtual */
  uint64_t wall_begin_ns, wall_end_ns; /* CLOCK_MONOTONIC_RAW */
  uint64_t last_ns;                    /* when the number in flight last changed */
  uint64_t busy_ns;                    /* in flight, summed over the operations, until last_ns */
  size_t ops, completed, in_flight, peak;
};

/* One harness at a time: the live probes of the process, and the id of
 * the last operation started on the harness's loop. */
static cw_probe *live;
static uint64_t last_op_id;

static uint64_t wall_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC_RAW, &ts); /* real under the harness */
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void settle(cw_probe *p, uint64_t now) {
  p->busy_ns += p->in_flight * (now - p->last_ns);
  p->last_ns = now;
}

static void stop(cw_probe *p) {
  uint64_t now = clock_now_ns(p->h);
  settle(p, now);
  p->end_ns = now;
  p->wall_end_ns = wall_ns();
  p->counting = false;
}

static bool mine(const cw_probe *p, const cw_harness *h, const cw_io_op *op) {
  return p->counting && p->h == h && op->id > p->after_id && (p->kinds & UINT32_C(1) << op->kind);
}

void probe_op_started(cw_harness *h, const cw_io_op *op) {
  trace_op_started(h, op);
  last_op_id = op->id;
  for (cw_probe *p = live; p; p = p->next)
    if (mine(p, h, op)) {
      settle(p, clock_now_ns(h));
      p->ops++;
      if (++p->in_flight > p->peak)
        p->peak = p->in_flight;
    }
}

void probe_op_completed(cw_harness *h, const cw_io_op *op, intptr_t result) {
  trace_op_completed(h, op, result);
  for (cw_probe *p = live; p; p = p->next)
    if (mine(p, h, op)) {
      settle(p, clock_now_ns(h));
      p->completed++;
      p->in_flight--;
    }
}

void probes_release(cw_harness *h) {
  for (cw_probe *p = live; p; p = p->next)
    if (p->h == h) {
      if (p->counting)
        stop(p);
      p->h = NULL;
    }
  last_op_id = 0;
}

cw_probe *cw_probe_begin_at(cw_harness *h, const char *pattern, const char *file, int line) {
  if (!h) {
    fprintf(stderr, "%s:%d: cw_probe_begin: h is NULL\n", file, line);
    return NULL;
  }
  if (!pattern) {
    cw_harness_fail_at(h, file, line, "cw_probe_begin: pattern is NULL (\"*\" matches every operation)");
    return NULL;
  }
  if (!h->fakes) {
    cw_harness_fail_at(h, file, line, "cw_probe_begin: this harness has no fakes (opts.real_io is set): probes "
                                      "count the fakes' operations");
    return NULL;
  }
  cw_probe *p = calloc(1, sizeof *p);
  if (!p || !(p->pattern = strdup(pattern))) {
    free(p);
    cw_harness_fail_at(h, file, line, "cw_probe_begin: out of memory");
    return NULL;
  }
  p->h = h;
  p->kinds = rules_op_kinds(pattern);
  p->counting = true;
  p->real_time = h->opts.real_time;
  p->after_id = last_op_id;
  p->begin_ns = p->last_ns = clock_now_ns(h);
  p->wall_begin_ns = wall_ns();
  p->next = live;
  live = p;
  return p;
}

void cw_probe_end(cw_probe *p) {
  if (p && p->counting)
    stop(p);
}

void cw_probe_free(cw_probe *p) {
  if (!p)
    return;
  cw_probe_end(p);
  cw_probe **link = &live;
  while (*link != p)
    link = &(*link)->next;
  *link = p->next;
  free(p->pattern);
  free(p);
}

cw_probe_figures cw_probe_figures_of(const cw_probe *p) {
  if (!p)
    return (cw_probe_figures){0};
  cw_probe now = *p;
  if (now.counting)
    stop(&now);
  cw_probe_figures f = {
      .ops = now.ops,
      .completed = now.completed,
      .peak_in_flight = now.peak,
      .virtual_ms = (double)(now.end_ns - now.begin_ns) / MS,
      .wall_ms = (double)(now.wall_end_ns - now.wall_begin_ns) / MS,
      .latency_ms = (double)now.busy_ns / MS,
  };
  double elapsed = now.real_time ? f.wall_ms : f.virtual_ms;
  f.concurrency = elapsed > 0 ? f.latency_ms / elapsed : 0;
  return f;
}

/* ---- verdicts ------------------------------------------------------------------- */

/* Below this effective concurrency, operations ran essentially one at a time. */
#define SERIALIZED 1.5
/* Virtual time is exact; this only absorbs the rounding of the division. */
#define EXACT 1e-9

static void report(const cw_probe *p, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void report(const cw_probe *p, const char *file, int line, const char *fmt, ...) {
  char text[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(text, sizeof text, fmt, ap);
  va_end(ap);
  cw_harness *h = p && p->h ? p->h : harness_current;
  if (h)
    cw_harness_fail_at(h, file, line, "%s", text);
  else
    fprintf(stderr, "%s:%d: %s\n", file, line, text);
}

/* A duration for a person: 50.0 ms, 1.250 s, 4 h 10 min 0 s. */
static const char *duration(double ms, char buf[32]) {
  if (ms < 1000) {
    snprintf(buf, 32, "%.1f ms", ms);
  } else if (ms < 60000) {
    snprintf(buf, 32, "%.3f s", ms / 1000);
  } else {
    unsigned long long s = (unsigned long long)(ms / 1000 + 0.5);
    if (s >= 3600)
      snprintf(buf, 32, "%llu h %llu min %llu s", s / 3600, s / 60 % 60, s % 60);
    else
      snprintf(buf, 32, "%llu min %llu s", s / 60, s % 60);
  }
  return buf;
}

/* "100 fs.read", or "100 operations matching "net.*"". */
static const char *counted(const cw_probe *p, size_t n, char buf[160]) {
  if (strpbrk(p->pattern, "*?["))
    snprintf(buf, 160, "%zu operation%s matching \"%s\"", n, n == 1 ? "" : "s", p->pattern);
  else
    snprintf(buf, 160, "%zu %s", n, p->pattern);
  return buf;
}

/* The figures of p for a verdict, false (reported) when there is nothing
 * to judge: no operation, or no time spent in flight. */
static bool judgeable(const cw_probe *p, const char *function, cw_probe_figures *f, const char *file, int line) {
  if (!p || !p->h) {
    report(p, file, line, "%s: %s", function, p ? "the probe's harness was freed" : "p is NULL");
    return false;
  }
  *f = cw_probe_figures_of(p);
  char what[160];
  if (f->ops == 0) {
    report(p, file, line,
           "%s: no operation matching \"%s\" started in the probe's window (operation names: fs.read, "
           "net.connect, dns.resolve, work.run...)", function, p->pattern);
    return false;
  }
  if (f->latency_ms <= 0) {
    report(p, file, line,
           "%s: %s took no time: nothing to judge (give them latency with a rule, cw_fake_rule)", function,
           counted(p, f->ops, what));
    return false;
  }
  return true;
}

/* "100 fs.read took 100.0 ms at 1.0 ms each (effective concurrency 1.0, peak 1 in flight" */
static const char *summary(const cw_probe *p, const cw_probe_figures *f, char buf[512]) {
  char what[160], took[32], each[32];
  snprintf(buf, 512, "%s took %s%s at %s each (effective concurrency %.1f, peak %zu in flight", counted(p, f->ops, what),
           duration(p->real_time ? f->wall_ms : f->virtual_ms, took), p->real_time ? " of wall time" : "",
           duration(f->latency_ms / (double)f->ops, each), f->concurrency, f->peak_in_flight);
  return buf;
}

bool cw_probe_assert_parallel_at(const cw_probe *p, double min, const char *file, int line) {
  cw_probe_figures f;
  if (!judgeable(p, "cw_probe_assert_parallel", &f, file, line))
    return false;
  if (!(min >= 1)) {
    report(p, file, line, "cw_probe_assert_parallel: min is %g; an effective concurrency is at least 1", min);
    return false;
  }
  char text[512], bound[160] = "", took[32];
  double most_ms = f.latency_ms / min * (1 + CW_PROBE_TOLERANCE) + CW_PROBE_SLACK_MS;
  if (p->real_time ? f.wall_ms <= most_ms : f.concurrency >= min * (1 - EXACT))
    return true;
  if (p->real_time)
    snprintf(bound, sizeof bound, ": at most %s with the real-time tolerance of %g%% + %g ms", duration(most_ms, took),
             CW_PROBE_TOLERANCE * 100, CW_PROBE_SLACK_MS);
  if (f.concurrency < SERIALIZED)
    report(p, file, line, "serialized: %s, expected ≥ %g%s) — an await inside a loop?", summary(p, &f, text), min,
           bound);
  else
    report(p, file, line, "not parallel enough: %s, expected ≥ %g%s) — a concurrency limit below %g?",
           summary(p, &f, text), min, bound, min);
  return false;
}

bool cw_probe_assert_serial_at(const cw_probe *p, const char *file, int line) {
  cw_probe_figures f;
  if (!judgeable(p, "cw_probe_assert_serial", &f, file, line))
    return false;
  char text[512], bound[160] = "", took[32];
  double least_ms = (f.latency_ms - CW_PROBE_SLACK_MS) / (1 + CW_PROBE_TOLERANCE);
  if (p->real_time ? f.wall_ms >= least_ms : f.concurrency <= 1 + EXACT)
    return true;
  if (p->real_time)
    snprintf(bound, sizeof bound, ": at least %s with the real-time tolerance of %g%% + %g ms",
             duration(least_ms, took), CW_PROBE_TOLERANCE * 100, CW_PROBE_SLACK_MS);
  report(p, file, line,
         "not serial: %s, expected ≤ 1%s) — they overlap; if each must finish before the next starts, await it "
         "first (or use a limiter of 1)", summary(p, &f, text), bound);
  return false;
}
