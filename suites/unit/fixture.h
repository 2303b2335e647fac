/* One fresh cw_loop per test, and the checks every test ends with: no
 * promise reference left floating, no misuse report left unchecked. */
#ifndef CW_UNIT_FIXTURE_H
#define CW_UNIT_FIXTURE_H

#include <clockwork/core.h>

/* The test's loop (callbacks reach it here, as scripts reach Node's). */
extern cw_loop *test_loop;

int loop_setup(void **state);
int loop_teardown(void **state);
#define loop_test(fn) cmocka_unit_test_setup_teardown(fn, loop_setup, loop_teardown)

/* Misuse reports since the test began, captured with cw_on_misuse. */
typedef struct misuse_report {
  char function[64];
  char message[256];
  char file[256];
  int line;
} misuse_report;
void misuse_capture(void *unused, const cw_misuse *m); /* the cw_misuse_fn installed by loop_setup */
/* The oldest report not taken yet; fails the test when there is none. */
misuse_report misuse_take(void);
/* Takes the next report and checks it is function's, with message, from
 * the calling file at line. */
void assert_misuse_at(const char *function, const char *message, const char *file, int line);
#define assert_misuse(function, message, line) assert_misuse_at(function, message, __FILE__, line)

/* The line a call is on, for checking reported sites: int at = LINE_OF(cw_x(...)); */
#define LINE_OF(call) ((void)(call), __LINE__)

#endif
