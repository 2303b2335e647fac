#define _GNU_SOURCE
#include "support.h"

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#define FIU_ENABLE 1
#include <fiu-control.h>
#include <fiu.h>

static char dir[256];

int io_setup(void **state) {
  const char *tmp = getenv("TMPDIR");
  snprintf(dir, sizeof dir, "%s/cw-io-XXXXXX", tmp && *tmp ? tmp : "/tmp");
  if (!mkdtemp(dir))
    return -1;
  umask(022);
  fiu_init(0);
  return loop_setup(state);
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st, (void)flag, (void)ftw;
  return remove(path);
}

int io_teardown(void **state) {
  for (int k = 0; k < CW_OP_COUNT; k++)
    fiu_disable(cw_op_fiu_point((cw_op_kind)k));
  fiu_disable("clockwork/net/*");
  int rc = loop_teardown(state);
  nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
  return rc;
}

const char *fs_dir(void) { return dir; }

void put_file(const char *name, const char *data, size_t len) {
  int fd = open(at(name), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, data, len), (ssize_t)len);
  assert_int_equal(close(fd), 0);
}

char *get_file(const char *name, size_t *len) {
  FILE *f = fopen(at(name), "rb");
  if (!f)
    return NULL;
  char *data = NULL;
  size_t size = 0;
  FILE *mem = open_memstream(&data, &size);
  int c;
  while ((c = fgetc(f)) != EOF)
    fputc(c, mem);
  fclose(mem);
  fclose(f);
  *len = size;
  return data;
}

static int run_on_test_loop(cw_fn main) { return cw_run(test_loop, main, NULL); }

void run_task(cw_task_fn fn, void *arg) { run_as_task(test_loop, run_on_test_loop, fn, arg); }

void settle(cw_promise *p) {
  while (cw_promise_state(p) == CW_PENDING)
    uv_run(cw_loop_uv(test_loop), UV_RUN_ONCE);
}

cw_loop *fs_loop(void) { return test_loop; }

int open_files(void) {
  DIR *d = opendir("/proc/self/fd");
  assert_non_null(d);
  int n = 0;
  while (readdir(d))
    n++;
  closedir(d);
  return n - 3; /* ".", ".." and the one opendir holds */
}
