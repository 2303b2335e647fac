/* The file ports on the real backend, against a temporary directory: every
 * operation with its exact result, the POSIX errors as libuv codes, and the
 * whole-file operations: the scenarios of fs_scenarios.c, which the fake
 * file system runs too (suites/fakes/test_fs.c), on support.c's backend. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "support.h"

int main(void) {
  const struct CMUnitTest tests[] = {
    io_test(open_read_write_close),
    io_test(stat_mkdir_rename_unlink_readdir),
    io_test(read_file_write_file_round_trip),
  };
  return cmocka_run_group_tests_name("io: files", tests, NULL, NULL);
}
