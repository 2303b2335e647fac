/* What the I/O suites share: a fresh loop and an empty temporary directory
 * per test, tasks that record what each operation gave, and the libfiu
 * points switched off again after each test. */
#ifndef CW_IO_SUPPORT_H
#define CW_IO_SUPPORT_H

#include <clockwork/io.h>

#include "fixture.h"
#include "record.h"

/* The fixture of the unit suites plus the directory; every point of the
 * ports (and the wildcards the suites use) is disabled at teardown. */
int io_setup(void **state);
int io_teardown(void **state);
#define io_test(fn) cmocka_unit_test_setup_teardown(fn, io_setup, io_teardown)

/* name inside the test's directory; four paths can be held at once. */
const char *at(const char *name);
/* Writes len bytes to name with plain POSIX calls / reads it back (a
 * malloc'ed string, NUL-terminated; NULL when missing). */
void put_file(const char *name, const char *data, size_t len);
char *get_file(const char *name, size_t *len);

/* Runs fn as a task on test_loop under cw_run, which must return 0. A
 * failed cmocka assertion cannot leave a task's stack: tasks record what
 * they see (rec) and tests check it once cw_run has returned. */
void run_task(cw_task_fn fn, void *arg);

/* Awaits p and records "label:ok", "label:N" (counted: the fulfilment value
 * as a number) or "label:UV_ENOENT"; returns the result. */
cw_result outcome(const char *label, cw_promise *p);
cw_result counted(const char *label, cw_promise *p);

/* Outside cw_run: turns the uv loop until p (not consumed) settles. */
void settle(cw_promise *p);

/* Descriptors open in the process. */
int open_fds(void);

#endif
