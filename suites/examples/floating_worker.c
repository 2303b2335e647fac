/* Example 5, a floating promise (the first production bug in
 * async-patterns-guide.txt): a queue worker records each job in an audit log
 * without awaiting the write. The day the audit disk is full, the writes'
 * rejections have no handler: Node would exit on the first one; here
 * cw_harness_run returns CW_EUNHANDLED and the teardown names the line that
 * dropped the promise. The fix awaits the write and handles its failure. */
#include <clockwork/cmocka.h>
#include <clockwork/concurrency.h>
#include <clockwork/fakes.h>

#include <stdio.h>
#include <string.h>

enum { JOBS = 3, JOB_EVERY_MS = 100 };

/* ---- the program ------------------------------------------------------------------ */

typedef struct worker {
  cw_loop *loop;
  int done;             /* jobs processed */
  int audit_failures;   /* audit writes that failed */
  char path[JOBS][32];  /* the audit entries' files */
} worker;

/* Waits for the next job (one arrives every 100 ms) and processes it;
 * returns the path of its audit entry. */
static const char *next_job(worker *w) {
  cw_await(cw_sleep(w->loop, JOB_EVERY_MS));
  int job = w->done++;
  snprintf(w->path[job], sizeof w->path[job], "/audit/job-%d", job + 1);
  return w->path[job];
}

/* The bug: the audit write is started and dropped; nobody awaits it or
 * handles its failure. */
static cw_result buggy_worker(void *arg) {
  worker *w = arg;
  while (w->done < JOBS) {
    const char *entry = next_job(w);
    cw_fs_write_file(w->loop, entry, "done\n", 5); /* BUG: floating */
  }
  return cw_ok(NULL);
}
enum { BUG_LINE = __LINE__ - 4 }; /* the line marked BUG, for the tests */

/* The fix: await the write; a failed audit entry is counted (and would be
 * logged and retried) instead of taking the worker down. */
static cw_result fixed_worker(void *arg) {
  worker *w = arg;
  while (w->done < JOBS) {
    const char *entry = next_job(w);
    cw_result written = cw_await(cw_fs_write_file(w->loop, entry, "done\n", 5));
    if (written.state == CW_REJECTED)
      w->audit_failures++;
  }
  return cw_ok(NULL);
}

/* ---- the tests ---------------------------------------------------------------------- */

static worker w;
static cw_task_fn version;
static cw_promise *task; /* the worker's */

static void start_worker(void *arg) {
  (void)arg;
  task = cw_spawn(w.loop, version, &w);
}

/* Runs the worker version v on harness h; with disk_full, every file
 * operation under /audit fails with ENOSPC. Returns what cw_harness_run did. */
static int run_worker(cw_harness *h, cw_task_fn v, bool disk_full) {
  w = (worker){.loop = cw_harness_loop(h)};
  version = v;
  assert_int_equal(cw_fake_fs_mkdir(h, "/audit"), 0);
  if (disk_full)
    assert_non_null(cw_fake_rule(h, &(cw_rule_spec){.op = "fs.*", .match = "/audit/*",
                                                     .fault = {CW_FAULT_ERROR, UV_ENOSPC}}));
  return cw_harness_run(h, start_worker, NULL);
}

/* The buggy worker's tests check the harness's failures themselves. */
static cw_harness *buggy;
static char failure[8][1024];
static unsigned failures;

static void keep_failure(void *arg, const char *message) {
  (void)arg;
  if (failures < 8)
    snprintf(failure[failures], sizeof failure[0], "%s", message);
  failures++;
}

static void open_buggy(void) {
  failures = 0;
  buggy = cw_harness_new(&(cw_harness_opts){.fail = keep_failure});
}

/* Teardown: the failures come out here. */
static void close_buggy(void) {
  cw_release(task);
  cw_harness_free(buggy);
  buggy = NULL;
}

static int teardown_buggy(void **state) {
  (void)state;
  if (buggy) /* a failed assertion left it open */
    close_buggy();
  return 0;
}

/* Failure i says text. */
static void assert_failure(unsigned i, const char *text) {
  if (!strstr(failure[i], text))
    fail_msg("failure %u is\n%s\nexpected it to say\n%s", i, failure[i], text);
}

static void the_bug_fails_the_run_when_the_disk_is_full(void **state) {
  (void)state;
  open_buggy();
  assert_int_equal(run_worker(buggy, buggy_worker, true), CW_EUNHANDLED);
  close_buggy();

  /* each job's write: first as an unhandled rejection, then as a floating promise */
  char text[512];
  assert_int_equal(failures, 2 * JOBS);
  snprintf(text, sizeof text, "unhandled rejection UV_ENOSPC (no space left on device) of the promise created at %s:%d",
           __FILE__, BUG_LINE);
  for (unsigned i = 0; i < JOBS; i++)
    assert_failure(i, text);
  snprintf(text, sizeof text, "floating promise created at %s:%d (rejected, 1 reference never consumed)", __FILE__,
           BUG_LINE);
  for (unsigned i = JOBS; i < 2 * JOBS; i++)
    assert_failure(i, text);
}

/* On a good day nothing fails, and the harness still reports the dropped promises. */
static void the_bug_shows_on_a_good_day_too(void **state) {
  (void)state;
  open_buggy();
  assert_int_equal(run_worker(buggy, buggy_worker, false), 0);
  assert_int_equal(w.done, JOBS);
  close_buggy();

  char text[512];
  snprintf(text, sizeof text, "floating promise created at %s:%d (fulfilled, 1 reference never consumed)", __FILE__,
           BUG_LINE);
  assert_int_equal(failures, JOBS);
  for (unsigned i = 0; i < JOBS; i++)
    assert_failure(i, text);
}

/* The fixed worker's tests use the cmocka fixture: any failure of the harness fails them. */
static void the_fix_survives_a_full_disk(void **state) {
  cw_harness *h = cw_test_harness(state);
  assert_int_equal(run_worker(h, fixed_worker, true), 0);
  assert_int_equal(w.done, JOBS);
  assert_int_equal(w.audit_failures, JOBS);
  assert_int_equal(cw_clock_now(h), JOBS * JOB_EVERY_MS);
  assert_int_equal(cw_promise_state(task), CW_FULFILLED);
  cw_release(task);
}

static void the_fix_writes_the_audit_log(void **state) {
  cw_harness *h = cw_test_harness(state);
  assert_int_equal(run_worker(h, fixed_worker, false), 0);
  assert_int_equal(w.audit_failures, 0);
  for (int job = 1; job <= JOBS; job++) {
    char path[32];
    snprintf(path, sizeof path, "/audit/job-%d", job);
    assert_string_equal(cw_fake_fs_get(h, path, NULL), "done\n");
  }
  cw_release(task);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_teardown(the_bug_fails_the_run_when_the_disk_is_full, teardown_buggy),
      cmocka_unit_test_teardown(the_bug_shows_on_a_good_day_too, teardown_buggy),
      cw_test(the_fix_survives_a_full_disk),
      cw_test(the_fix_writes_the_audit_log),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
