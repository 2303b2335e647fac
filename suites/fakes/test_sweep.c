/* Fault sweeps over a config-file writer: the careful one (temp file,
 * fsync, rename, cleanup on error) survives every single error and every
 * power cut; a writer without fsync and one without cleanup are caught,
 * each failing run reported with its operation, fault and replay command,
 * which replays it alone in process. Crashes, harness failures and bad
 * specs are reported too. */
#include "harness_fixture.h"

#include <clockwork/fakes.h>

#define CONFIG "/etc/app.conf"
#define OLD "port = 80\n"
#define NEW "port = 8080\nworkers = 4\n"

static int self_argc;
static char **self_argv;

/* ---- the writers ------------------------------------------------------------------- */

typedef struct save {
  cw_loop *loop;
  const char *path, *data;
  bool fsync, cleanup; /* what a careful writer does */
} save;

static cw_result save_task(void *arg) {
  save *s = arg;
  char tmp[256];
  snprintf(tmp, sizeof tmp, "%s.tmp", s->path);
  cw_result r = cw_await(cw_fs_open(s->loop, tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644));
  if (r.state == CW_REJECTED)
    return r;
  int fd = (int)(intptr_t)r.value, error = 0;
  size_t len = strlen(s->data);
  r = cw_await(cw_fs_write(s->loop, fd, s->data, len, 0));
  error = r.error ? r.error : (size_t)(intptr_t)r.value != len ? UV_EIO : 0;
  if (!error && s->fsync)
    error = cw_await(cw_fs_fsync(s->loop, fd)).error;
  int closed = cw_await(cw_fs_close(s->loop, fd)).error;
  error = error ? error : closed;
  if (!error)
    error = cw_await(cw_fs_rename(s->loop, tmp, s->path)).error;
  if (error && s->cleanup)
    cw_await(cw_fs_unlink(s->loop, tmp));
  return error ? cw_err(error) : cw_ok(NULL);
}

/* save_config(loop, path, data): fulfils once data is in path for good. */
static cw_promise *save_config(save *s) { return cw_spawn(s->loop, save_task, s); }

/* ---- the scenario and its invariant -------------------------------------------------- */

typedef struct config_case {
  bool fsync, cleanup;
  save save;
  cw_state outcome; /* of save_config */
  int error;
  /* when save_config rejects with this code (0: never), says complaint on
   * stderr, and aborts if asked to */
  int fragile_on;
  const char *complaint;
  bool abort;
} config_case;

static cw_result saved(void *arg, cw_result in) {
  config_case *c = arg;
  c->outcome = CW_FULFILLED;
  return in;
}

static cw_result not_saved(void *arg, cw_result in) {
  config_case *c = arg;
  c->outcome = CW_REJECTED;
  c->error = in.error;
  if (c->fragile_on && in.error == c->fragile_on) {
    fprintf(stderr, "%s\n", c->complaint);
    if (c->abort)
      abort();
  }
  return cw_ok(NULL);
}

static void start_save(void *arg) {
  config_case *c = arg;
  cw_detach(cw_then(save_config(&c->save), saved, not_saved, c));
}

static void seed_config(cw_harness *h, void *arg) {
  (void)arg;
  assert_int_equal(cw_fake_fs_put(h, CONFIG, OLD, strlen(OLD)), 0);
}

static void write_config(cw_harness *h, void *arg) {
  config_case *c = arg;
  c->save = (save){cw_harness_loop(h), CONFIG, NEW, c->fsync, c->cleanup};
  c->outcome = CW_PENDING;
  c->error = 0;
  cw_harness_run(h, start_save, c);
}

/* The config holds the old or the new content, entirely, and the new once
 * saved; a failed save leaves no temp file. */
static bool config_intact(cw_harness *h, void *arg, char *why, size_t size) {
  config_case *c = arg;
  size_t len;
  const char *now = cw_fake_fs_get(h, CONFIG, &len);
  if (!now) {
    snprintf(why, size, CONFIG " is gone");
    return false;
  }
  bool old = len == strlen(OLD) && !memcmp(now, OLD, len), new = len == strlen(NEW) && !memcmp(now, NEW, len);
  if (!old && !new) {
    snprintf(why, size, CONFIG " holds %zu bytes \"%s\": neither the old nor the new content", len, now);
    return false;
  }
  if (c->outcome == CW_FULFILLED && !new) {
    snprintf(why, size, "save_config fulfilled and " CONFIG " holds the old content");
    return false;
  }
  if (c->outcome == CW_REJECTED && cw_fake_fs_type(h, CONFIG ".tmp")) {
    snprintf(why, size, "save_config rejected with %s and left " CONFIG ".tmp", cw_err_name(c->error));
    return false;
  }
  return true;
}

static const cw_fault disk_errors[] = {{CW_FAULT_ERROR, UV_EIO}, {CW_FAULT_ERROR, UV_ENOSPC}};

/* Every operation, each failing with either error, and a power cut after each. */
static cw_sweep_spec config_sweep(config_case *c) {
  return (cw_sweep_spec){
      .setup = seed_config,
      .scenario = write_config,
      .invariant = config_intact,
      .arg = c,
      .ops = "fs.*",
      .faults = disk_errors,
      .n_faults = 2,
      .power_cut = true,
      .opts = {.seed = 1},
  };
}

/* ---- stderr, captured ------------------------------------------------------------------ */

static FILE *captured_stderr;
static int saved_stderr;

static void capture_stderr(void) {
  fflush(stderr);
  captured_stderr = tmpfile();
  assert_non_null(captured_stderr);
  saved_stderr = dup(STDERR_FILENO);
  dup2(fileno(captured_stderr), STDERR_FILENO);
}

/* What was written to stderr since capture_stderr; the caller frees it. */
static char *release_stderr(void) {
  fflush(stderr);
  dup2(saved_stderr, STDERR_FILENO);
  close(saved_stderr);
  long len = ftell(captured_stderr);
  rewind(captured_stderr);
  char *text = calloc(1, (size_t)len + 1);
  assert_int_equal(fread(text, 1, (size_t)len, captured_stderr), (size_t)len);
  fclose(captured_stderr);
  return text;
}

/* "  replay: CW_SWEEP=<run> CW_SEED=1 <this program>\n" */
static void replay_line(char *out, size_t size, const char *run) {
  int n = snprintf(out, size, "  replay: CW_SWEEP=%s CW_SEED=1", run);
  for (int i = 0; i < self_argc; i++)
    n += snprintf(out + n, size - (size_t)n, " %s", self_argv[i]);
  snprintf(out + n, size - (size_t)n, "\n");
}

/* Appends to report the sweep's report of a failed run: its first line,
 * body (lines ending in \n) and the line that replays it. */
static void add_failed_run(char *report, size_t size, const char *run, const char *body) {
  char replay[1024];
  replay_line(replay, sizeof replay, run);
  size_t n = strlen(report);
  snprintf(report + n, size - n, "clockwork: fault sweep: run %s failed\n%s%s", run, body, replay);
}

/* The line where sweep calls cw_fault_sweep: its misuses name it. */
static int sweep_line;

/* Runs the sweep with stderr captured: what it printed, its return value and result. */
static char *sweep(const cw_sweep_spec *spec, int *rc, cw_sweep_result *result) {
  capture_stderr();
  sweep_line = LINE_OF(*rc = cw_fault_sweep(spec, result));
  return release_stderr();
}

/* printed is sweep's report of a misuse: why, at its call. */
static void assert_misuse(const char *printed, const char *why) {
  char expected[512];
  snprintf(expected, sizeof expected, "clockwork: misuse of cw_fault_sweep at %s:%d: %s\n", __FILE__, sweep_line, why);
  assert_string_equal(printed, expected);
}

/* Runs the sweep, which must print expected exactly and return rc; its result. */
static cw_sweep_result sweep_printing(const cw_sweep_spec *spec, const char *expected, int rc) {
  cw_sweep_result result;
  int returned;
  char *printed = sweep(spec, &returned, &result);
  assert_string_equal(printed, expected);
  free(printed);
  assert_int_equal(returned, rc);
  return result;
}

/* ---- the careful writer ----------------------------------------------------------------- */

static void careful_writer_survives_every_error_and_power_cut(void **state) {
  (void)state;
  config_case c = {.fsync = true, .cleanup = true};
  cw_sweep_spec spec = config_sweep(&c);
  cw_sweep_result result = sweep_printing(&spec, "", 0);
  /* open, write, fsync, close, rename */
  assert_int_equal(result.operations, 5);
  assert_int_equal(result.runs, 5 * 3);
  assert_int_equal(result.failed, 0);
}

/* ---- buggy writers ------------------------------------------------------------------------ */

/* A writer without fsync, its rename cut off by a power cut. */
static const char power_cut_at_rename[] =
    "  operation 4: fs.rename /etc/app.conf.tmp -> /etc/app.conf\n"
    "  fault: power cut after it completed\n"
    "    invariant: /etc/app.conf holds 0 bytes \"\": neither the old nor the new content\n";

static void a_writer_without_fsync_loses_the_config_in_a_power_cut(void **state) {
  (void)state;
  config_case c = {.fsync = false, .cleanup = true};
  cw_sweep_spec spec = config_sweep(&c);
  char expected[2048] = "";
  add_failed_run(expected, sizeof expected, "4:cut", power_cut_at_rename);
  cw_sweep_result result = sweep_printing(&spec, expected, 1);
  assert_int_equal(result.operations, 4); /* open, write, close, rename */
  assert_int_equal(result.runs, 12);
  assert_int_equal(result.failed, 1);
}

static void a_writer_without_cleanup_leaves_its_temp_file(void **state) {
  (void)state;
  config_case c = {.fsync = true, .cleanup = false};
  cw_sweep_spec spec = config_sweep(&c);
  spec.faults = &disk_errors[1];
  spec.n_faults = 1;
  spec.power_cut = false;
  static const char *const ops[] = {"fs.write /etc/app.conf.tmp", "fs.fsync /etc/app.conf.tmp",
                                    "fs.close /etc/app.conf.tmp", "fs.rename /etc/app.conf.tmp -> /etc/app.conf"};
  char expected[4096] = "";
  for (int i = 0; i < 4; i++) {
    char run[8], body[512];
    snprintf(run, sizeof run, "%d:0", i + 2);
    snprintf(body, sizeof body,
             "  operation %d: %s\n"
             "  fault: error UV_ENOSPC\n"
             "    invariant: save_config rejected with UV_ENOSPC and left /etc/app.conf.tmp\n",
             i + 2, ops[i]);
    add_failed_run(expected, sizeof expected, run, body);
  }
  cw_sweep_result result = sweep_printing(&spec, expected, 4);
  assert_int_equal(result.operations, 5);
  assert_int_equal(result.runs, 5);
  assert_int_equal(result.failed, 4);
}

/* ---- replay ------------------------------------------------------------------------------- */

static void cw_sweep_replays_one_run_in_process(void **state) {
  (void)state;
  config_case c = {.fsync = false, .cleanup = true};
  cw_sweep_spec spec = config_sweep(&c);
  char expected[2048] = "";
  add_failed_run(expected, sizeof expected, "4:cut", power_cut_at_rename);
  setenv("CW_SWEEP", "4:cut", 1);
  cw_sweep_result result = sweep_printing(&spec, expected, 1);
  unsetenv("CW_SWEEP");
  assert_int_equal(result.operations, 4);
  assert_int_equal(result.runs, 1);
  assert_int_equal(result.failed, 1);
  /* in process: the run's state is this process's */
  assert_int_equal(c.outcome, CW_FULFILLED);
}

static void a_replayed_run_that_passes_says_so(void **state) {
  (void)state;
  config_case c = {.fsync = true, .cleanup = true};
  cw_sweep_spec spec = config_sweep(&c);
  setenv("CW_SWEEP", "2:1", 1);
  cw_sweep_result result = sweep_printing(&spec, "clockwork: fault sweep: run 2:1 (CW_SWEEP) passed\n", 0);
  unsetenv("CW_SWEEP");
  assert_int_equal(result.failed, 0);
  assert_int_equal(c.outcome, CW_REJECTED);
  assert_int_equal(c.error, UV_ENOSPC);
}

static void a_bad_cw_sweep_is_misuse(void **state) {
  (void)state;
  config_case c = {.fsync = true, .cleanup = true};
  cw_sweep_spec spec = config_sweep(&c);
  static const char *const bad[] = {"x", "2:2", "2:", "-1", "0:1", "2:cutx"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    setenv("CW_SWEEP", bad[i], 1);
    int rc;
    char *printed = sweep(&spec, &rc, NULL);
    char why[128];
    snprintf(why, sizeof why, "CW_SWEEP=%s: expected k, k:fault index (below 2) or k:cut", bad[i]);
    assert_misuse(printed, why);
    assert_int_equal(rc, CW_EMISUSE);
    free(printed);
  }
  unsetenv("CW_SWEEP");
}

/* ---- crashes and failures of the harness ------------------------------------------------------ */

/* Sweeps c's writer over the operation ops alone, with both errors and no
 * power cut: of the two runs, only run fails, reported with body. */
static void expect_one_failed_run(config_case *c, const char *ops, const char *run, const char *body) {
  cw_sweep_spec spec = config_sweep(c);
  spec.ops = ops;
  spec.power_cut = false;
  char expected[2048] = "";
  add_failed_run(expected, sizeof expected, run, body);
  cw_sweep_result result = sweep_printing(&spec, expected, 1);
  assert_int_equal(result.runs, 2);
  assert_int_equal(result.failed, 1);
}

static void a_crash_is_reported_with_its_run_and_the_sweep_goes_on(void **state) {
  (void)state;
  config_case c = {
      .fsync = true, .cleanup = true, .fragile_on = UV_ENOSPC, .complaint = "giving up", .abort = true};
  expect_one_failed_run(&c, "fs.open", "1:1",
                        "  operation 1: fs.open /etc/app.conf.tmp\n"
                        "  fault: error UV_ENOSPC\n"
                        "  crashed: signal 6 (Aborted)\n"
                        "  its stderr:\n"
                        "    giving up\n");
}

static void a_sanitizer_report_fails_the_run(void **state) {
  (void)state;
  config_case c = {.fsync = true,
                   .cleanup = true,
                   .fragile_on = UV_EIO,
                   .complaint = "config.c:12:5: runtime error: signed integer overflow"};
  expect_one_failed_run(&c, "fs.rename", "1:0",
                        "  operation 1: fs.rename /etc/app.conf.tmp -> /etc/app.conf\n"
                        "  fault: error UV_EIO\n"
                        "  its stderr:\n"
                        "    config.c:12:5: runtime error: signed integer overflow\n");
}

static cw_result leave_unhandled(void *arg) {
  save *s = arg;
  cw_result r = cw_await(cw_fs_open(s->loop, "/missing/file", O_RDONLY, 0));
  return r;
}

static void spawn_unhandled(void *arg) { cw_detach(cw_spawn(((save *)arg)->loop, leave_unhandled, arg)); }

static void open_missing(cw_harness *h, void *arg) {
  save *s = arg;
  s->loop = cw_harness_loop(h);
  cw_harness_run(h, spawn_unhandled, s);
}

static void a_failing_run_without_faults_ends_the_sweep(void **state) {
  (void)state;
  save s;
  cw_sweep_spec spec = {.scenario = open_missing, .arg = &s, .opts = {.seed = 1}};
  cw_sweep_result result;
  int rc;
  char *printed = sweep(&spec, &rc, &result);
  assert_non_null(strstr(printed, "clockwork: fault sweep: run 0 failed\n"
                                  "  the run without faults\n"
                                  "    "));
  assert_non_null(strstr(printed, "unhandled rejection UV_ENOENT"));
  char replay[1024];
  replay_line(replay, sizeof replay, "0");
  assert_non_null(strstr(printed, replay));
  free(printed);
  assert_int_equal(rc, 1);
  assert_int_equal(result.operations, 1);
  assert_int_equal(result.runs, 0);
  assert_int_equal(result.failed, 1);
}

static void bad_specs_are_misuse(void **state) {
  (void)state;
  config_case c = {0};
  static const cw_fault none = {CW_FAULT_NONE, 0}, positive = {CW_FAULT_ERROR, 5};
  struct {
    cw_sweep_spec spec;
    const char *message;
  } cases[] = {
      {{.scenario = NULL}, "spec->scenario is NULL"},
      {{.scenario = write_config, .ops = "fs.wirte"},
       "spec->ops \"fs.wirte\" matches no operation (names are \"fs.read\", \"net.connect\", ...)"},
      {{.scenario = write_config, .faults = &none, .n_faults = 1},
       "spec->faults[0].kind is CW_FAULT_NONE: a sweep's fault must fail something"},
      {{.scenario = write_config, .faults = &positive, .n_faults = 1},
       "spec->faults[0].code is 5: a code is a negative libuv code (UV_EIO), or 0 for UV_EIO"},
      {{.scenario = write_config, .faults = &positive, .n_faults = 0}, "spec->n_faults is 0 with spec->faults set"},
      {{.scenario = write_config, .opts = {.real_io = true}}, "spec->opts.real_io is set: a sweep runs on the fakes"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    cases[i].spec.arg = &c;
    int rc;
    cw_sweep_result result = {7, 7, 7};
    char *printed = sweep(&cases[i].spec, &rc, &result);
    assert_misuse(printed, cases[i].message);
    free(printed);
    assert_int_equal(rc, CW_EMISUSE);
    assert_int_equal(result.runs, 7); /* untouched */
  }
  int rc;
  char *printed = sweep(NULL, &rc, NULL);
  assert_misuse(printed, "spec is NULL");
  free(printed);
  assert_int_equal(rc, CW_EMISUSE);
  cw_harness *h = cw_harness_new(NULL);
  cw_sweep_spec spec = config_sweep(&c);
  printed = sweep(&spec, &rc, NULL);
  cw_harness_free(h);
  assert_misuse(printed, "a harness exists: each run makes its own (one per process)");
  free(printed);
  assert_int_equal(rc, CW_EMISUSE);
}

int main(int argc, char **argv) {
  self_argc = argc;
  self_argv = argv;
  child_self = argv[0];
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(careful_writer_survives_every_error_and_power_cut),
      cmocka_unit_test(a_writer_without_fsync_loses_the_config_in_a_power_cut),
      cmocka_unit_test(a_writer_without_cleanup_leaves_its_temp_file),
      cmocka_unit_test(cw_sweep_replays_one_run_in_process),
      cmocka_unit_test(a_replayed_run_that_passes_says_so),
      cmocka_unit_test(a_bad_cw_sweep_is_misuse),
      cmocka_unit_test(a_crash_is_reported_with_its_run_and_the_sweep_goes_on),
      cmocka_unit_test(a_sanitizer_report_fails_the_run),
      cmocka_unit_test(a_failing_run_without_faults_ends_the_sweep),
      cmocka_unit_test(bad_specs_are_misuse),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
