/* Benchmarks of tasks (cw_spawn/cw_await), each beside its JavaScript twin
 * in node/ run by the runner of bench.c:
 *
 *   tasks_bench FIGURE NODE JSDIR
 *
 * useless-async  1M plain calls against 1M awaited calls of an async
 *                function that never awaits (the "useless async" of the talk
 *                "5 hours to 5 minutes"): a task doing
 *                cw_await(cw_spawn(loop, never_awaits, i)) 1M times.
 * suspended      100k tasks suspended at once, each awaiting its own promise,
 *                resolved later: the time to create them (on stacks mapped
 *                afresh, then again on stacks from the pool), to resume them,
 *                and the peak RSS. Beside it, what a first touch of a page
 *                costs on this machine: a task suspended on a fresh stack
 *                touches the top page of its stack, so that is its floor.
 * task-switch    1M awaits of a resolved promise in one task: the round trip
 *                is two switches (task to loop, loop to task); beside it a
 *                raw fiber switch measured the way fiber_bench does.
 *
 * Each part runs after a warm-up run of the same work on the same loop, as
 * the JS twins do (node/common.js); the suspended tasks run first on fresh
 * stacks, then again on pooled ones. A missed goal is reported, not failed;
 * the exit status is 1 only when the work itself went wrong. */
#include "runner.h"

#include <clockwork/core.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "fiber_internal.h"

enum { CALLS = 1000000, SUSPENDED = 100000, AWAITS = 1000000 };
#define RSS_GOAL_KIB (1024L * 1024) /* 1 GiB for 100k suspended tasks */

/* ---- the work ------------------------------------------------------------ */

/* The run in progress: one at a time, so the tasks find it here. */
static struct work {
  cw_loop *loop;
  size_t n;     /* operations in this run */
  size_t done;  /* operations that finished */
  uint64_t sum; /* of the values they saw: 0 + 1 + ... + (n - 1) when each ran once */
  cw_promise *(*make)(uintptr_t i); /* await_each: what to await */
  cw_promise **gates;               /* suspended: one per task */
  uint64_t created_ns, resume_start, resumed_at;
  long rss_kib; /* suspended: peak RSS once all were created */
} w;

static void count(uintptr_t value) {
  w.done++;
  w.sum += value;
}

/* function plain(i) { return i }: a real call, which the compiler can
 * neither inline nor see through. */
__attribute__((noinline)) static uintptr_t plain(uintptr_t i) {
  __asm__("" : "+r"(i));
  return i;
}

static void plain_calls(void *arg) {
  (void)arg;
  for (uintptr_t i = 0; i < w.n; i++)
    count(plain(i));
}

/* async function never(i) { return i } */
static cw_result never_awaits(void *i) { return cw_ok(i); }

static cw_promise *spawn_never_awaits(uintptr_t i) { return cw_spawn(w.loop, never_awaits, (void *)i); }

static cw_promise *resolved(uintptr_t i) { return cw_resolved(w.loop, (void *)i); }

/* for (let i = 0; i < n; i++) sum += await make(i) */
static cw_result await_each(void *arg) {
  (void)arg;
  for (uintptr_t i = 0; i < w.n; i++)
    count((uintptr_t)cw_await(w.make(i)).value);
  return cw_ok(NULL);
}

static void main_await_each(void *arg) {
  (void)arg;
  cw_detach(cw_spawn(w.loop, await_each, NULL));
}

static cw_result wait_for_gate(void *gate) {
  count((uintptr_t)cw_await(gate).value);
  if (w.done == w.n)
    w.resumed_at = now_ns();
  return cw_ok(NULL);
}

static void open_gates(void *arg) {
  (void)arg;
  w.resume_start = now_ns();
  for (size_t i = 0; i < w.n; i++)
    cw_resolve(w.gates[i], (void *)(uintptr_t)i);
}

static void main_suspend(void *arg) {
  (void)arg;
  uint64_t start = now_ns();
  for (size_t i = 0; i < w.n; i++) {
    w.gates[i] = cw_promise_new(w.loop);
    cw_detach(cw_spawn(w.loop, wait_for_gate, cw_ref(w.gates[i])));
  }
  w.created_ns = now_ns() - start;
  w.rss_kib = max_rss_kib();
  cw_set_immediate(w.loop, open_gates, NULL);
}

/* ---- measuring --------------------------------------------------------- */

/* Runs main for n operations, as cw_run's main function on w.loop or, with
 * no loop, as a plain call: its time in ns, or -1 after saying what went wrong. */
static double run(const char *what, cw_fn main, size_t n) {
  w.n = n;
  w.done = 0;
  w.sum = 0;
  unsigned long misuse = cw_misuse_count();
  int rc = 0;
  uint64_t start = now_ns();
  if (w.loop)
    rc = cw_run(w.loop, main, NULL);
  else
    main(NULL);
  double ns = (double)(now_ns() - start);
  size_t floating = w.loop ? cw_loop_floating(w.loop, NULL, NULL) : 0;
  size_t tasks = w.loop ? cw_loop_tasks(w.loop, NULL, NULL) : 0;

  uint64_t sum = (uint64_t)n * (n - 1) / 2;
  misuse = cw_misuse_count() - misuse;
  if (rc == 0 && misuse == 0 && floating == 0 && tasks == 0 && w.done == n && w.sum == sum)
    return ns;
  fprintf(stderr,
          "%s: cw_run returned %d, %lu misuse reports, %zu floating promises, %zu tasks left; "
          "%zu operations ran (values summing to %" PRIu64 "), expected %zu (%" PRIu64 ")\n",
          what, rc, misuse, floating, tasks, w.done, w.sum, n, sum);
  return -1;
}

/* A warm-up run, then the timed run. */
static double warm_then_run(const char *what, cw_fn main, size_t n) {
  return run(what, main, n) < 0 ? -1 : run(what, main, n);
}

/* Raw fiber switches, as fiber_bench measures them: a fiber yields back to
 * the caller, which resumes it; each round trip is two switches. */
static void yield_forever(void *arg) {
  (void)arg;
  for (;;) cw_fiber_yield();
}

static double fiber_switch_ns(size_t rounds) {
  cw_fiber_pool pool;
  cw_fiber_pool_init(&pool, 0);
  cw_fiber *f = cw_fiber_new(&pool, yield_forever, NULL);
  uint64_t start = now_ns();
  for (size_t i = 0; i < rounds; i++) cw_fiber_resume(f);
  double ns = (double)(now_ns() - start) / (2.0 * (double)rounds);
  cw_fiber_free(f);
  cw_fiber_pool_destroy(&pool);
  return ns;
}

/* What the machine charges for the first touch of a page, which a task
 * suspended on a fresh stack cannot avoid: pages a stack's stride apart, as
 * the pool lays stacks out, each touched once; ns per page. */
static double first_touch_ns(size_t pages) {
  size_t stride = (size_t)sysconf(_SC_PAGESIZE) + CW_FIBER_DEFAULT_STACK;
  volatile char *base = mmap(NULL, pages * stride, PROT_READ | PROT_WRITE,
                             MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (base == MAP_FAILED)
    return -1;
  uint64_t start = now_ns();
  for (size_t i = 1; i <= pages; i++) base[i * stride - 1] = 1;
  double ns = (double)(now_ns() - start) / (double)pages;
  munmap((void *)base, pages * stride);
  return ns;
}

/* ---- reporting ---------------------------------------------------------- */


static void report_time(const char *who, double ns, size_t ops) {
  printf("  %-24s %9.1f ns/op %10.1f ms\n", who, ns / (double)ops, ns / 1e6);
}

/* Runs node/<script>.js; false (after saying why) when it failed. With no
 * Node, js->ns stays 0 and nothing is compared. */
static const char *node_path, *js_dir;

static bool run_node(const char *script, node_figures *js) {
  memset(js, 0, sizeof *js);
  if (!*node_path)
    return true;
  char path[4096];
  snprintf(path, sizeof path, "%s/%s.js", js_dir, script);
  return node_run(node_path, path, js) == 0;
}

static void report_node(const char *what, const node_figures *js, size_t ops) {
  char who[96];
  snprintf(who, sizeof who, "node %s %s", js->version, what);
  if (js->ns > 0)
    report_time(who, js->ns, ops);
  else
    printf("  %-24s not found\n", "node");
}

/* "clockwork takes 0.4x Node's time, goal <= 1x: PASS" */
static void report_no_slower(const char *what, double cw_ns, double node_ns) {
  if (node_ns > 0)
    printf("  %-24s clockwork takes %.2fx Node's time, goal <= 1x: %s\n", what, cw_ns / node_ns,
           verdict(cw_ns <= node_ns));
}

/* ---- the figures ---------------------------------------------------------- */

static int useless_async(void) {
  node_figures js_plain, js_awaited;
  if (!run_node("useless-async-plain", &js_plain) || !run_node("useless-async", &js_awaited))
    return 1;
  double plain_ns = warm_then_run("plain calls", plain_calls, CALLS);
  w.loop = cw_loop_new();
  w.make = spawn_never_awaits;
  double awaited_ns = warm_then_run("awaited calls", main_await_each, CALLS);
  cw_loop_free(w.loop);
  if (plain_ns < 0 || awaited_ns < 0)
    return 1;
  report_time("clockwork plain", plain_ns, CALLS);
  report_node("plain", &js_plain, CALLS);
  report_time("clockwork awaited", awaited_ns, CALLS);
  report_node("awaited", &js_awaited, CALLS);
  report_no_slower("awaited calls", awaited_ns, js_awaited.ns);
  printf("  %-24s %.1fx the plain calls (Node: %.1fx)\n", "cost of async", awaited_ns / plain_ns,
         js_plain.ns > 0 ? js_awaited.ns / js_plain.ns : 0.0);
  return 0;
}

/* The first run maps its stacks afresh; a second one takes them all
 * from the loop's pool, as a long-running program would. The stacks keep the
 * default size: a suspended task touches one page of its stack whatever the
 * size (16 KiB stacks gave the same RSS as 256 KiB), so a smaller one would
 * only save address space. */
static int suspended(void) {
  node_figures js_create, js_resume;
  if (!run_node("tasks-suspended-create", &js_create) || !run_node("tasks-suspended-resume", &js_resume))
    return 1;
  w.loop = cw_loop_new();
  w.gates = malloc(SUSPENDED * sizeof *w.gates);
  if (!w.loop || !w.gates) {
    fprintf(stderr, "suspended: out of memory\n");
    return 1;
  }
  double fresh_ns = run("suspended", main_suspend, SUSPENDED);
  double create_ns = (double)w.created_ns, resume_ns = (double)(w.resumed_at - w.resume_start);
  double pooled_ns = fresh_ns < 0 ? -1 : run("suspended again", main_suspend, SUSPENDED);
  double pooled_create_ns = (double)w.created_ns, pooled_resume_ns = (double)(w.resumed_at - w.resume_start);
  cw_loop_free(w.loop);
  free(w.gates);
  if (pooled_ns < 0)
    return 1;
  double page_ns = first_touch_ns(SUSPENDED / 10); /* after the peak RSS was taken */
  report_time("clockwork create", create_ns, SUSPENDED);
  if (page_ns > 0)
    printf("  %-24s %9.1f ns/page in this run: the floor of a create on fresh stacks (one page each)\n",
           "first touch of a page", page_ns);
  report_time("clockwork create, pooled", pooled_create_ns, SUSPENDED);
  report_node("create", &js_create, SUSPENDED);
  report_time("clockwork resume", resume_ns, SUSPENDED);
  report_time("clockwork resume, pooled", pooled_resume_ns, SUSPENDED);
  report_node("resume", &js_resume, SUSPENDED);
  report_no_slower("create", create_ns, js_create.ns);
  report_no_slower("create, pooled stacks", pooled_create_ns, js_create.ns);
  report_no_slower("resume", resume_ns, js_resume.ns);
  report_no_slower("resume, pooled stacks", pooled_resume_ns, js_resume.ns);
  printf("  %-24s %7.1f MiB with all suspended (node: %.1f MiB), goal <= %ld MiB: %s\n", "peak RSS",
         w.rss_kib / 1024.0, js_create.rss_end_kib / 1024.0, RSS_GOAL_KIB / 1024,
         verdict(w.rss_kib <= RSS_GOAL_KIB));
  return 0;
}

static int task_switch(void) {
  node_figures js;
  if (!run_node("task-switch", &js))
    return 1;
  w.loop = cw_loop_new();
  w.make = resolved;
  double ns = warm_then_run("task switch", main_await_each, AWAITS);
  cw_loop_free(w.loop);
  if (ns < 0)
    return 1;
  report_time("clockwork await", ns, AWAITS);
  report_node("await", &js, AWAITS);
  printf("  %-24s %9.1f ns (an await round trip is two)\n", "task switch", ns / AWAITS / 2);
  printf("  %-24s %9.1f ns\n", "raw fiber switch", fiber_switch_ns(AWAITS));
  return 0;
}

static const struct figure {
  const char *name;
  const char *what;
  int (*run)(void);
} figures[] = {
  {"useless-async", "1M calls of a function that returns its argument, plain and as an awaited task",
   useless_async},
  {"suspended", "100k tasks suspended at once, each awaiting its own promise (stack: the default 256 KiB)",
   suspended},
  {"task-switch", "1M awaits of a resolved promise in one task", task_switch},
};

int main(int argc, char **argv) {
  const struct figure *fig = NULL;
  for (size_t i = 0; argc == 4 && i < sizeof figures / sizeof figures[0]; i++)
    if (strcmp(figures[i].name, argv[1]) == 0)
      fig = &figures[i];
  if (!fig) {
    fprintf(stderr, "usage: tasks_bench FIGURE NODE JSDIR (FIGURE: useless-async, suspended or task-switch; "
                    "NODE empty when not found)\n");
    return 2;
  }
  node_path = argv[2];
  js_dir = argv[3];
  printf("%s: %s (core built %s)\n", fig->name, fig->what, CW_BENCH_BUILD);
  return fig->run();
}
