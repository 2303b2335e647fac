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

const char *at(const char *name) {
  static char paths[4][512];
  static unsigned next;
  char *p = paths[next++ % 4];
  snprintf(p, sizeof paths[0], "%s/%s", dir, name);
  return p;
}

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

static cw_task_fn task_fn;
static void *task_arg;

static void spawn_main(void *unused) {
  (void)unused;
  cw_detach(cw_spawn(test_loop, task_fn, task_arg));
}

void run_task(cw_task_fn fn, void *arg) {
  task_fn = fn;
  task_arg = arg;
  assert_int_equal(cw_run(test_loop, spawn_main, NULL), 0);
  assert_int_equal(cw_loop_tasks(test_loop, NULL, NULL), 0);
  assert_int_equal(cw_io_in_flight(test_loop), 0);
}

static cw_result record(const char *label, cw_promise *p, bool count) {
  cw_result r = cw_await(p);
  if (r.state == CW_REJECTED)
    rec_fmt("%s:%s", label, cw_err_name(r.error));
  else if (count)
    rec_fmt("%s:%ld", label, (long)(intptr_t)r.value);
  else
    rec_fmt("%s:ok", label);
  return r;
}

cw_result outcome(const char *label, cw_promise *p) { return record(label, p, false); }

cw_result counted(const char *label, cw_promise *p) { return record(label, p, true); }

void settle(cw_promise *p) {
  while (cw_promise_state(p) == CW_PENDING)
    uv_run(cw_loop_uv(test_loop), UV_RUN_ONCE);
}

int open_fds(void) {
  DIR *d = opendir("/proc/self/fd");
  assert_non_null(d);
  int n = 0;
  while (readdir(d))
    n++;
  closedir(d);
  return n - 3; /* ".", ".." and the one opendir holds */
}
