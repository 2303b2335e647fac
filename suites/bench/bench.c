/* Benchmarks of the async core, each beside its JavaScript twin in node/.
 *
 *   bench FIGURE NODE JSDIR
 *
 * runs one figure with NODE JSDIR/FIGURE.js (NODE empty: Node was not
 * found) and on clockwork, each after a warm-up run of the same work (on the
 * same loop: steady state, the JIT warm and the memory touched once on both
 * sides), and prints both times, the speed-up and the goal. A missed
 * goal is reported, not failed; the exit status is 1 only when the work
 * itself went wrong. */
#include "runner.h"

#include <clockwork/core.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

enum { MEMORY_BATCHES = 100 };
#define MEMORY_GROWTH_GOAL 0.10 /* peak RSS may grow this much after the first batch */

typedef struct bench {
  cw_loop *loop;
  size_t n;      /* operations in this run */
  size_t calls;  /* operations that ran */
  uint64_t sum;  /* of the values they saw: 0 + 1 + ... + (n - 1) when each ran once */
  size_t batch;  /* memory figure: the next batch */
  long rss_first_kib;
  long rss_end_kib;
} bench;

static void count(bench *b, uint64_t value) {
  b->calls++;
  b->sum += value;
}

/* ---- the work, as cw_run main functions -------------------------------- */

static cw_result count_value(void *arg, cw_result in) {
  uintptr_t value = (uintptr_t)in.value;
  count(arg, value);
  return cw_ok((void *)(value + 1));
}

/* Promise.resolve(i).then(f) for i in [from, from + n). */
static void resolved_then(bench *b, size_t from, size_t n) {
  for (size_t i = from; i < from + n; i++)
    cw_release(cw_then(cw_resolved(b->loop, (void *)(uintptr_t)i), count_value, NULL, b));
}

static void promise_then(void *arg) {
  bench *b = arg;
  resolved_then(b, 0, b->n);
}

static void promise_chain(void *arg) {
  bench *b = arg;
  cw_promise *p = cw_resolved(b->loop, (void *)0);
  for (size_t i = 0; i < b->n; i++)
    p = cw_then(p, count_value, NULL, b);
  cw_release(p);
}

static void tick(void *arg) {
  bench *b = arg;
  count(b, b->calls);
  if (b->calls < b->n)
    cw_next_tick(b->loop, tick, b);
}

static void next_tick(void *arg) {
  bench *b = arg;
  cw_next_tick(b->loop, tick, b);
}

static void step(void *arg) {
  bench *b = arg;
  count(b, b->calls);
  if (b->calls < b->n)
    cw_set_immediate(b->loop, step, b);
}

static void immediate(void *arg) {
  bench *b = arg;
  cw_set_immediate(b->loop, step, b);
}

/* One batch per macrotask: main, then an immediate each, so every batch
 * starts once the previous one has drained. */
static void memory(void *arg) {
  bench *b = arg;
  size_t size = b->n / MEMORY_BATCHES;
  if (b->batch == 1)
    b->rss_first_kib = max_rss_kib();
  if (b->batch == MEMORY_BATCHES) {
    b->rss_end_kib = max_rss_kib();
    return;
  }
  resolved_then(b, b->batch * size, size);
  b->batch++;
  cw_set_immediate(b->loop, memory, b);
}

typedef struct figure {
  const char *name;  /* argv[1]; node/<name>.js is its twin */
  const char *what;
  cw_fn main;
  size_t ops;
  double goal;       /* speed-up over Node wanted; 0: none */
  bool memory;       /* reports peak RSS, so runs without a warm-up */
} figure;

static const figure figures[] = {
  {"promise-then", "1M resolved promises, each with a then", promise_then, 1000000, 10, false},
  {"promise-chain", "a then chain 1M long", promise_chain, 1000000, 10, false},
  {"next-tick", "1M nextTicks, each scheduling the next", next_tick, 1000000, 2, false},
  {"immediate", "100k immediates, each scheduling the next", immediate, 100000, 0, false},
  {"memory", "10M resolved promises with a then, in 100 batches", memory, 10000000, 0, true},
};

/* ---- measuring and reporting ------------------------------------------- */

/* Runs fig's work on n operations on loop: the time of cw_run in ns, or
 * -1 after printing what went wrong. */
static double run_clockwork(const figure *fig, cw_loop *loop, size_t n, bench *b) {
  *b = (bench){.loop = loop, .n = n};
  unsigned long misuse = cw_misuse_count();
  uint64_t start = now_ns();
  int rc = cw_run(loop, fig->main, b);
  double ns = (double)(now_ns() - start);
  size_t floating = cw_loop_floating(loop, NULL, NULL);

  uint64_t sum = (uint64_t)n * (n - 1) / 2;
  misuse = cw_misuse_count() - misuse;
  if (rc == 0 && misuse == 0 && floating == 0 && b->calls == n && b->sum == sum)
    return ns;
  fprintf(stderr,
          "%s: cw_run returned %d, %lu misuse reports, %zu floating promises; "
          "%zu operations ran (values summing to %" PRIu64 "), expected %zu (%" PRIu64 ")\n",
          fig->name, rc, misuse, floating, b->calls, b->sum, n, sum);
  return -1;
}

/* The warm-up (as in the JS twins) and the timed run, on one loop. */
static double measure_clockwork(const figure *fig, bench *b) {
  cw_loop *loop = cw_loop_new();
  if (!loop) {
    fprintf(stderr, "%s: cw_loop_new failed\n", fig->name);
    return -1;
  }
  double ns = fig->memory ? 0 : run_clockwork(fig, loop, fig->ops, b);
  if (ns >= 0)
    ns = run_clockwork(fig, loop, fig->ops, b);
  cw_loop_free(loop);
  return ns;
}

static void report_time(const char *who, double ns, size_t ops) {
  printf("  %-16s %9.1f ns/op %10.1f ms\n", who, ns / (double)ops, ns / 1e6);
}

/* Prints the peak RSS after the first batch and at the end; the growth. */
static double report_rss(const char *who, long first_kib, long end_kib) {
  double growth = (double)(end_kib - first_kib) / (double)first_kib;
  printf("  %-16s peak RSS %7.1f MiB after the first batch, %7.1f MiB at the end (%+.1f%%)\n",
         who, first_kib / 1024.0, end_kib / 1024.0, growth * 100);
  return growth;
}

static const figure *find_figure(const char *name) {
  for (size_t i = 0; i < sizeof figures / sizeof figures[0]; i++)
    if (strcmp(figures[i].name, name) == 0)
      return &figures[i];
  return NULL;
}

int main(int argc, char **argv) {
  const figure *fig = argc == 4 ? find_figure(argv[1]) : NULL;
  if (!fig) {
    fprintf(stderr, "usage: bench FIGURE NODE JSDIR (FIGURE: promise-then, promise-chain, "
                    "next-tick, immediate or memory; NODE empty when not found)\n");
    return 2;
  }
  printf("%s: %s (core built %s)\n", fig->name, fig->what, CW_BENCH_BUILD);

  /* Node first: ru_maxrss survives exec, so a child spawned after
   * clockwork's run would start from clockwork's peak. */
  const char *node = argv[2];
  node_figures js;
  if (*node) {
    char script[4096];
    snprintf(script, sizeof script, "%s/%s.js", argv[3], fig->name);
    if (node_run(node, script, &js) != 0)
      return 1;
  }

  bench b;
  double cw_ns = measure_clockwork(fig, &b);
  if (cw_ns < 0)
    return 1;
  report_time("clockwork", cw_ns, fig->ops);
  if (*node) {
    char who[80];
    snprintf(who, sizeof who, "node %s", js.version);
    report_time(who, js.ns, fig->ops);
    double speedup = js.ns / cw_ns;
    if (fig->goal > 0)
      printf("  %-16s %9.1fx  goal >= %gx: %s\n", "speed-up", speedup, fig->goal,
             verdict(speedup >= fig->goal));
    else
      printf("  %-16s %9.1fx  (no goal)\n", "speed-up", speedup);
    if (fig->memory)
      report_rss(who, js.rss_first_kib, js.rss_end_kib);
  } else {
    printf("  node: not found\n");
  }
  if (fig->memory) {
    double growth = report_rss("clockwork", b.rss_first_kib, b.rss_end_kib);
    printf("  %-16s %+8.1f%%  goal <= %+.0f%%: %s\n", "memory growth", growth * 100,
           MEMORY_GROWTH_GOAL * 100, verdict(growth <= MEMORY_GROWTH_GOAL));
  }
  return 0;
}
