/* The virtual clock of the harness beside @sinonjs/fake-timers:
 *
 *   harness_bench FIGURE NODE JSDIR CACHE
 *
 * timers-spread   1M timeouts with spread deadlines (delay (i * 7919) %
 *                 1000000 + 1 ms: every delay from 1 to 1000000 ms once, in
 *                 a fixed shuffled order), then run-all.
 * timers-chained  1M chained timeouts, each callback setting the next with
 *                 a delay of i % 10 + 1 ms, run with run-all.
 *
 * Each callback checks that it fires at its own deadline, and each run that
 * the clock ends at the last one. Clockwork sets cw_set_timeout on a harness
 * loop and runs cw_clock_run_all; sinon sets setTimeout on
 * FakeTimers.withGlobal(globalThis).install() and runs clock.runAll()
 * (JSDIR/fake-timers-*.js, with NODE; NODE empty: Node was not found). As
 * in bench.c, each side runs the whole work once to warm up, then once
 * timed for the goal (steady state: the JIT warm, the memory used once
 * before), each time on a fresh clock: a new harness, a new sinon
 * install(). npm installs @sinonjs/fake-timers once, into a temporary
 * folder then moved to CACHE (in the build dir); without npm or the
 * network, clockwork is reported alone. Both runs are printed, clockwork's
 * with its CPU time and the part of it spent in the kernel: in the first
 * run, mostly faulting in memory touched for the first time, which on a VM
 * whose host backs memory lazily costs about 2 ns a byte, half of that
 * run's timers-spread figure. A missed goal is reported, not failed;
 * the exit status is 1 only when the work itself went wrong. */
#include "runner.h"

#include <clockwork/harness.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { OPS = 1000000 };
#define GOAL 20.0 /* speed-up over sinon wanted */

static uint64_t spread_delay(size_t i) { return i * 7919 % 1000000 + 1; }
static uint64_t chain_delay(size_t i) { return i % 10 + 1; }

/* The harness makes CLOCK_MONOTONIC virtual, not MONOTONIC_RAW (wall time)
 * nor the CPU clocks. */
static uint64_t clock_ns(clockid_t id) {
  struct timespec ts;
  clock_gettime(id, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t kernel_ns(void) {
  struct rusage r;
  getrusage(RUSAGE_SELF, &r);
  return (uint64_t)r.ru_stime.tv_sec * 1000000000u + (uint64_t)r.ru_stime.tv_usec * 1000u;
}

/* ---- the work ------------------------------------------------------------ */

/* The run in progress; the callbacks find it here. */
static struct work {
  cw_harness *h;
  cw_loop *loop;
  size_t calls;      /* callbacks that ran */
  size_t late;       /* callbacks that ran at another time than their deadline */
  uint64_t start;    /* cw_clock_now when the run began */
  uint64_t last_due; /* the latest deadline set, in ms after start */
} w;

/* What a run took, in ns. */
typedef struct run_times {
  double wall;
  double cpu;    /* on a busy machine, wall time counts others' too */
  double kernel; /* of cpu: mostly faults on memory touched for the first time */
} run_times;

/* A timeout of delay ms; fn gets its deadline, in ms after the start. */
static void set_timeout(uint64_t delay, cw_fn fn) {
  uint64_t due = cw_clock_now(w.h) - w.start + delay;
  if (due > w.last_due)
    w.last_due = due;
  cw_set_timeout(w.loop, delay, fn, (void *)(uintptr_t)due);
}

static void fire(void *due) {
  w.calls++;
  if (cw_clock_now(w.h) - w.start != (uintptr_t)due)
    w.late++;
}

static void spread(void) {
  for (size_t i = 0; i < OPS; i++)
    set_timeout(spread_delay(i), fire);
}

static void chain_link(void *due) {
  fire(due);
  if (w.calls < OPS)
    set_timeout(chain_delay(w.calls), chain_link);
}

static void chained(void) { set_timeout(chain_delay(0), chain_link); }

typedef struct figure {
  const char *name; /* argv[1] */
  const char *what;
  const char *script; /* its sinon twin in JSDIR */
  void (*schedule)(void);
} figure;

static const figure figures[] = {
    {"timers-spread", "1M timeouts with spread deadlines (1..1000000 ms), then run-all", "fake-timers-spread.js",
     spread},
    {"timers-chained", "1M chained timeouts (1..10 ms each), run with run-all", "fake-timers-chained.js", chained},
};

/* Sets fig's timeouts on a fresh harness and runs them all: 0 with t
 * filled, or -1 after printing what went wrong. */
static int run_clockwork(const figure *fig, run_times *t) {
  w.h = cw_harness_new(&(cw_harness_opts){.max_timer_firings = OPS});
  if (!w.h) {
    fprintf(stderr, "%s: cw_harness_new failed\n", fig->name);
    return -1;
  }
  w.loop = cw_harness_loop(w.h);
  w.calls = w.late = 0;
  w.last_due = 0;
  w.start = cw_clock_now(w.h);
  uint64_t begin = clock_ns(CLOCK_MONOTONIC_RAW), cpu_begin = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
  uint64_t kernel_begin = kernel_ns();
  fig->schedule();
  size_t jumps = cw_clock_run_all(w.h);
  t->wall = (double)(clock_ns(CLOCK_MONOTONIC_RAW) - begin);
  t->cpu = (double)(clock_ns(CLOCK_PROCESS_CPUTIME_ID) - cpu_begin);
  t->kernel = (double)(kernel_ns() - kernel_begin);
  uint64_t end = cw_clock_now(w.h) - w.start;
  size_t left = cw_clock_timer_count(w.h);
  cw_harness_free(w.h);
  if (w.calls == OPS && w.late == 0 && jumps == OPS && end == w.last_due && left == 0)
    return 0;
  fprintf(stderr,
          "%s: %zu of %d callbacks ran, %zu not at their deadline; %zu clock jumps, expected %d; the clock "
          "ended at %" PRIu64 " ms, the last deadline is %" PRIu64 " ms; %zu timers left\n",
          fig->name, w.calls, OPS, w.late, jumps, OPS, end, w.last_due, left);
  return -1;
}

/* ---- sinon ------------------------------------------------------------------ */

/* Runs cmd with sh, $CW_DIR set to dir: its exit status, -1 if it did not exit. */
static int shell(const char *cmd, const char *dir) {
  setenv("CW_DIR", dir, 1);
  int status = system(cmd);
  unsetenv("CW_DIR");
  return status != -1 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* @sinonjs/fake-timers under cache, which npm installs first if need be:
 * into a temporary folder beside it, renamed to cache once complete, so a
 * broken install is never taken for one. NULL after printing why sinon is
 * not available. */
static const char *fake_timers(const char *cache) {
  static char dir[4096];
  char manifest[4200], tmp[4096];
  snprintf(dir, sizeof dir, "%s/node_modules/@sinonjs/fake-timers", cache);
  snprintf(manifest, sizeof manifest, "%s/package.json", dir);
  if (access(manifest, R_OK) == 0)
    return dir;
  snprintf(tmp, sizeof tmp, "%s.tmp-XXXXXX", cache);
  if (!mkdtemp(tmp)) {
    printf("  sinon: not available (cannot make a temporary folder %s: %s)\n", tmp, strerror(errno));
    return NULL;
  }
  int rc = shell("command -v npm >/dev/null || exit 127; npm install --prefix \"$CW_DIR\" --no-audit "
                 "--no-fund --loglevel=error --fetch-retries=1 @sinonjs/fake-timers >&2",
                 tmp);
  int moved = rc == 0 ? rename(tmp, cache) : -1, err = errno;
  if (moved != 0)
    shell("rm -rf \"$CW_DIR\"", tmp);
  if (access(manifest, R_OK) == 0) /* ours, or that of a run beside this one */
    return dir;
  if (rc == 127)
    printf("  sinon: not available (npm not found)\n");
  else if (rc != 0)
    printf("  sinon: not available (npm install failed with status %d, its errors are above)\n", rc);
  else
    printf("  sinon: not available (cannot rename %s to %s: %s)\n", tmp, cache, strerror(err));
  return NULL;
}

/* Runs fig's twin on sinon: 0 with js filled, 1 when sinon is not
 * available, -1 after printing what went wrong. */
static int measure_sinon(const figure *fig, const char *node, const char *js_dir, const char *cache,
                         node_figures *js) {
  if (!*node) {
    printf("  sinon: not available (node not found)\n");
    return 1;
  }
  const char *module = fake_timers(cache);
  if (!module)
    return 1;
  char script[4096];
  snprintf(script, sizeof script, "%s/%s", js_dir, fig->script);
  setenv("CW_FAKE_TIMERS", module, 1);
  return node_run(node, script, js);
}

/* ---- reporting ---------------------------------------------------------------- */

static void report_time(const char *who, double ns) {
  printf("  %-36s %9.1f ns/timeout %10.1f ms\n", who, ns / OPS, ns / 1e6);
}

static void report_cpu(const run_times *t) {
  printf("  %-36s %9.1f ns/timeout\n", "  CPU time", t->cpu / OPS);
  printf("  %-36s %9.1f ns/timeout\n", "    of it in the kernel (page faults)", t->kernel / OPS);
}

static const figure *find_figure(const char *name) {
  for (size_t i = 0; i < sizeof figures / sizeof figures[0]; i++)
    if (strcmp(figures[i].name, name) == 0)
      return &figures[i];
  return NULL;
}

int main(int argc, char **argv) {
  const figure *fig = argc == 5 ? find_figure(argv[1]) : NULL;
  if (!fig) {
    fprintf(stderr, "usage: harness_bench FIGURE NODE JSDIR CACHE (FIGURE: timers-spread or timers-chained; "
                    "NODE empty when not found)\n");
    return 2;
  }
  printf("%s: %s (built %s)\n", fig->name, fig->what, CW_BENCH_BUILD);
  fflush(stdout); /* before npm and node write */

  node_figures js;
  int sinon = measure_sinon(fig, argv[2], argv[3], argv[4], &js);
  if (sinon < 0)
    return 1;
  run_times first, timed;
  if (run_clockwork(fig, &first) != 0 || run_clockwork(fig, &timed) != 0)
    return 1;
  report_time("clockwork (cw_clock_run_all)", timed.wall);
  report_cpu(&timed);
  report_time("clockwork, first run", first.wall);
  report_cpu(&first);
  if (sinon == 0) {
    char who[128];
    snprintf(who, sizeof who, "sinon (%s)", js.version);
    report_time(who, js.ns);
    report_time("sinon, first run", js.ns_first);
    double speedup = js.ns / timed.wall;
    printf("  %-36s %9.1fx  goal >= %gx: %s\n", "speed-up", speedup, GOAL, verdict(speedup >= GOAL));
    printf("  %-36s %9.1fx\n", "speed-up, first runs", js.ns_first / first.wall);
  }
  return 0;
}
