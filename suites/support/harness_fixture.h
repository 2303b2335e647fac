/* Shared by the harness and fakes suites: a harness per test whose failures
 * are captured through opts.fail for exact checks (clockwork/cmocka.h's
 * fixture prints them and fails the test instead), the record of what the
 * test saw, and files for what a child writes. */
#ifndef CW_SUITES_HARNESS_FIXTURE_H
#define CW_SUITES_HARNESS_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <clockwork/harness.h>

#include "child.h"
#include "record.h"

/* ---- failures ------------------------------------------------------------- */

static struct {
  char text[32][8192];
  size_t len, taken;
} captured;

static inline void capture_fail(void *arg, const char *message) {
  (void)arg;
  if (captured.len < sizeof captured.text / sizeof captured.text[0])
    snprintf(captured.text[captured.len++], sizeof captured.text[0], "%s", message);
}

static inline void capture_reset(void) { captured.len = captured.taken = 0; }

/* The line a call is on, for checking reported sites: int at = LINE_OF(cw_x(...)); */
#define LINE_OF(call) ((void)(call), __LINE__)

/* The seed of the harnesses made with capture_opts. */
enum { CAPTURE_SEED = 1 };

/* Options that capture failures. */
static inline cw_harness_opts capture_opts(unsigned allow) {
  return (cw_harness_opts){.seed = CAPTURE_SEED, .allow = allow, .fail = capture_fail};
}

/* The next failure captured is "file:line: body" with the seed line. */
static inline void expect_failure(const char *file, int line, const char *body) {
  char expected[sizeof captured.text[0]];
  snprintf(expected, sizeof expected, "%s:%d: %s\n  (seed %d: CW_SEED=%d replays this run)", file, line, body,
           CAPTURE_SEED, CAPTURE_SEED);
  if (captured.taken == captured.len)
    fail_msg("expected the failure\n%s\nthere was none", expected);
  assert_string_equal(captured.text[captured.taken++], expected);
}

/* The next failure captured holds each part given, in order, up to a NULL
 * (for what varies or comes from the library's own files). */
static inline void expect_failure_with(const char *part, ...) {
  if (captured.taken == captured.len)
    fail_msg("expected a failure with \"%s\"; there was none", part);
  const char *text = captured.text[captured.taken++], *at = text;
  va_list ap;
  va_start(ap, part);
  for (; part; part = va_arg(ap, const char *))
    if (!(at = strstr(at, part)))
      fail_msg("expected a failure with \"%s\", got:\n%s", part, text);
  va_end(ap);
}

/* Failures captured and not checked: printed, and a count to assert 0 on. */
static inline size_t unchecked_failures(void) {
  for (size_t i = captured.taken; i < captured.len; i++)
    print_error("unchecked failure: %s\n", captured.text[i]);
  return captured.len - captured.taken;
}

/* ---- the fixture ---------------------------------------------------------- */

/* The running test's harness and its loop. */
static cw_harness *h;
static cw_loop *loop;

/* Opens h with opts, its failures captured whatever opts.fail says, with
 * nothing captured or recorded yet; 0, or -1 when it cannot. */
static inline int harness_open(cw_harness_opts opts) {
  capture_reset();
  rec_reset();
  opts.fail = capture_fail;
  h = cw_harness_new(&opts);
  loop = h ? cw_harness_loop(h) : NULL;
  return h ? 0 : -1;
}

/* Frees h (a test that checks teardown's failures calls it itself). */
static inline void harness_close(void) {
  if (h)
    cw_harness_free(h);
  h = NULL;
  loop = NULL;
}

/* Callbacks that trace their label on loop: a cw_fn, and a promise handler
 * that passes its input on. */
static inline void trace_fn(void *label) { cw_trace(loop, label); }
static inline cw_result trace_then(void *label, cw_result in) {
  cw_trace(loop, label);
  return in;
}

/* 01-predict-order, traced: log A; setTimeout B; Promise.resolve().then(C).then(D); log E */
static inline void predict_order_script(void *arg) {
  (void)arg;
  cw_trace(loop, "A");
  cw_set_timeout(loop, 0, trace_fn, "B");
  cw_promise *p = cw_then(cw_resolved(loop, NULL), trace_then, NULL, "C");
  cw_detach(cw_then(p, trace_then, NULL, "D"));
  cw_trace(loop, "E");
}

/* Setup: h with capture_opts(0), or with the options a prestate points to. */
static inline int harness_setup(void **state) {
  return harness_open(*state ? *(const cw_harness_opts *)*state : capture_opts(0));
}

/* Teardown: closes h; the test fails on failures it left unchecked. */
static inline int harness_teardown(void **state) {
  (void)state;
  harness_close();
  return unchecked_failures() ? -1 : 0;
}

#define harness_test(fn) cmocka_unit_test_setup_teardown(fn, harness_setup, harness_teardown)
/* A test that opens h itself (harness_open), with the teardown. */
#define harness_test_opening(fn) cmocka_unit_test_teardown(fn, harness_teardown)
/* With the cw_harness_opts at opts (static: cmocka keeps the pointer). */
#define harness_test_with(fn, opts) \
  cmocka_unit_test_prestate_setup_teardown(fn, harness_setup, harness_teardown, (void *)(opts))

/* The whole content of path, NUL-terminated; the caller frees it. */
static inline char *read_file(const char *path) {
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  char *text = NULL;
  size_t len = 0, cap = 0, n;
  do {
    if (cap - len < 4096)
      assert_non_null(text = realloc(text, cap = 2 * cap + 4096));
    n = fread(text + len, 1, cap - len - 1, f);
    len += n;
  } while (n > 0);
  fclose(f);
  text[len] = '\0';
  return text;
}

/* Creates an empty temporary file and names it in path; the caller unlinks it. */
static inline void temp_file(char path[32]) {
  snprintf(path, 32, "/tmp/clockwork-XXXXXX");
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  close(fd);
}

#endif
