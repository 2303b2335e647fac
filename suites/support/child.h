/* The test program run again as a child process, for what only a separate
 * process shows: a crash and its report, a whole cmocka group's exit status. */
#ifndef CW_SUITES_CHILD_H
#define CW_SUITES_CHILD_H

#include <stddef.h>

/* argv[0] of the test program: main sets it before running the tests
 * (/proc/self/exe would name valgrind under valgrind). */
extern const char *child_self;

/* Runs the program again with the argument mode and this environment, its
 * stdout and stderr captured into output (NUL-terminated, cut at size);
 * returns its wait status. */
int run_self(const char *mode, char *output, size_t size);

/* Recursion that overflows any stack while overflow_stop is -1; exported
 * (tests link with export_dynamic) for the stack overflow tests. */
extern volatile int overflow_stop;
int overflow_recurse(int n);

#endif
