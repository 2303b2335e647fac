/* Shared by the trace and cmocka suites: the harness's failures captured
 * through opts.fail for exact checks, and files for what a child writes. */
#ifndef CW_HARNESS_SUPPORT_H
#define CW_HARNESS_SUPPORT_H

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

/* ---- failures ------------------------------------------------------------- */

static struct {
  char text[8][8192];
  size_t len, taken;
} captured;

static inline void capture_fail(void *arg, const char *message) {
  (void)arg;
  if (captured.len < sizeof captured.text / sizeof captured.text[0])
    snprintf(captured.text[captured.len++], sizeof captured.text[0], "%s", message);
}

static inline void capture_reset(void) { captured.len = captured.taken = 0; }

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

/* Failures captured and not checked: printed, and a count to assert 0 on. */
static inline size_t unchecked_failures(void) {
  for (size_t i = captured.taken; i < captured.len; i++)
    print_error("unchecked failure: %s\n", captured.text[i]);
  return captured.len - captured.taken;
}

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
