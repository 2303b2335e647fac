/* What the I/O suites share: a fresh loop and an empty temporary directory
 * per test, tasks that record what each operation gave, and the libfiu
 * points switched off again after each test. support.c is the real
 * backend of the file system scenarios (fs_scenarios.h): fs_loop
 * (test_loop), fs_dir (the temporary directory), put_file, get_file,
 * run_task (under cw_run) and open_files (the process's descriptors). */
#ifndef CW_IO_SUPPORT_H
#define CW_IO_SUPPORT_H

#include <clockwork/io.h>

#include "fixture.h"
#include "fs_scenarios.h"

/* The fixture of the unit suites plus the directory; every point of the
 * ports (and the wildcards the suites use) is disabled at teardown. */
int io_setup(void **state);
int io_teardown(void **state);
#define io_test(fn) cmocka_unit_test_setup_teardown(fn, io_setup, io_teardown)

/* Outside cw_run: turns the uv loop until p (not consumed) settles. */
void settle(cw_promise *p);

#endif
