#include "fixture.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "record.h"

cw_loop *test_loop;

static misuse_report reports[16];
static size_t reports_len, reports_taken;

static void copy(char *dst, size_t size, const char *src) { snprintf(dst, size, "%s", src ? src : "(null)"); }

void misuse_capture(void *unused, const cw_misuse *m) {
  (void)unused;
  if (reports_len == sizeof reports / sizeof reports[0])
    return; /* the ones kept already fail the test at teardown */
  misuse_report *r = &reports[reports_len++];
  copy(r->function, sizeof r->function, m->function);
  copy(r->message, sizeof r->message, m->message);
  copy(r->file, sizeof r->file, m->file);
  r->line = m->line;
}

misuse_report misuse_take(void) {
  if (reports_taken == reports_len)
    fail_msg("expected a misuse report, there was none");
  return reports[reports_taken++];
}

void assert_misuse_at(const char *function, const char *message, const char *file, int line) {
  misuse_report m = misuse_take();
  assert_string_equal(m.function, function);
  assert_string_equal(m.message, message);
  assert_string_equal(m.file, file);
  assert_int_equal(m.line, line);
}

int loop_setup(void **state) {
  (void)state;
  rec_reset();
  reports_len = reports_taken = 0;
  cw_on_misuse(misuse_capture, NULL);
  test_loop = cw_loop_new();
  return test_loop ? 0 : -1;
}

static void print_floating(void *arg, const char *file, int line, cw_state state, unsigned refs) {
  (void)arg;
  print_error("floating promise created at %s:%d (state %d, %u reference(s))\n", file, line, state, refs);
}

int loop_teardown(void **state) {
  (void)state;
  int failed = 0;
  if (test_loop) {
    failed |= cw_loop_floating(test_loop, print_floating, NULL) != 0;
    cw_loop_free(test_loop);
    test_loop = NULL;
  }
  for (size_t i = reports_taken; i < reports_len; i++) {
    print_error("unchecked misuse of %s at %s:%d: %s\n", reports[i].function, reports[i].file, reports[i].line,
                reports[i].message);
    failed = 1;
  }
  cw_on_misuse(NULL, NULL);
  return failed ? -1 : 0;
}
