/* The file ports on the real backend, against a temporary directory: every
 * operation with its exact result, the POSIX errors as libuv codes, and the
 * whole-file operations. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <cmocka.h>

#include "support.h"

/* ---- one operation at a time ------------------------------------------------ */

static void stat_of(const char *label, const char *path) {
  cw_stat st = {0, 0, 0};
  if (outcome(label, cw_fs_stat(test_loop, path, &st)).state != CW_FULFILLED)
    return;
  if (S_ISDIR(st.mode)) /* a directory's size depends on the file system */
    rec_fmt("dir mode=%o", (unsigned)(st.mode & 0777));
  else
    rec_fmt("size=%llu file mode=%o%s", (unsigned long long)st.size, (unsigned)(st.mode & 0777),
            llabs(st.mtime_ms - (int64_t)time(NULL) * 1000) < 60000 ? "" : " (mtime is not now)");
}

static void list(const char *label, const char *path) {
  cw_dirent *entries = (cw_dirent *)&entries; /* must be overwritten */
  size_t n = 99;
  cw_result r = outcome(label, cw_fs_readdir(test_loop, path, &entries, &n));
  if (r.state != CW_FULFILLED)
    return;
  rec_fmt("n=%zu%s", n, entries == r.value ? "" : " (not the value)");
  for (size_t i = 0; i < n; i++)
    rec_fmt("%s%s", entries[i].name, entries[i].is_dir ? "/" : "");
  if (n == 0 && entries)
    rec("(entries not NULL)");
  cw_fs_free_entries(entries, n);
}

static cw_result file_ops(void *arg) {
  (void)arg;
  char buf[16];
  cw_result r = outcome("open", cw_fs_open(test_loop, at("a"), O_CREAT | O_EXCL | O_RDWR, 0640));
  int fd = (int)(intptr_t)r.value;
  counted("write", cw_fs_write(test_loop, fd, "hello world", 11, -1));
  outcome("fsync", cw_fs_fsync(test_loop, fd));
  memset(buf, 0, sizeof buf);
  counted("read", cw_fs_read(test_loop, fd, buf, 5, 6));
  rec(buf);
  counted("read", cw_fs_read(test_loop, fd, buf, sizeof buf, 11));
  counted("write", cw_fs_write(test_loop, fd, "J", 1, 0));
  memset(buf, 0, sizeof buf);
  counted("read", cw_fs_read(test_loop, fd, buf, sizeof buf, 0));
  rec(buf);
  outcome("close", cw_fs_close(test_loop, fd));
  outcome("close", cw_fs_close(test_loop, fd));
  counted("read", cw_fs_read(test_loop, fd, buf, 1, 0));
  outcome("open", cw_fs_open(test_loop, at("a"), O_CREAT | O_EXCL | O_RDWR, 0640));
  outcome("open", cw_fs_open(test_loop, at("missing"), O_RDONLY, 0));
  return cw_ok(NULL);
}

static void open_read_write_close(void **state) {
  (void)state;
  run_task(file_ops, NULL);
  assert_rec("open:ok write:11 fsync:ok read:5 world read:0 write:1 read:11 Jello world close:ok "
             "close:UV_EBADF read:UV_EBADF open:UV_EEXIST open:UV_ENOENT");
}

static cw_result tree_ops(void *arg) {
  (void)arg;
  put_file("a", "hello world", 11);
  stat_of("stat", at("a"));
  stat_of("stat", at("missing"));
  outcome("mkdir", cw_fs_mkdir(test_loop, at("sub"), 0750));
  outcome("mkdir", cw_fs_mkdir(test_loop, at("sub"), 0750));
  outcome("mkdir", cw_fs_mkdir(test_loop, at("none/sub"), 0750));
  stat_of("stat", at("sub"));
  outcome("open", cw_fs_open(test_loop, at("sub"), O_WRONLY, 0));
  stat_of("stat", at("a/x"));
  outcome("rename", cw_fs_rename(test_loop, at("a"), at("sub/b")));
  stat_of("stat", at("a"));
  stat_of("stat", at("sub/b"));
  put_file("c", "", 0);
  outcome("mkdir", cw_fs_mkdir(test_loop, at("B"), 0700));
  list("readdir", at(""));
  list("readdir", at("sub"));
  list("readdir", at("missing"));
  list("readdir", at("c"));
  outcome("unlink", cw_fs_unlink(test_loop, at("sub")));
  outcome("rename", cw_fs_rename(test_loop, at("B"), at("sub")));
  outcome("rename", cw_fs_rename(test_loop, at("c"), at("sub")));
  outcome("unlink", cw_fs_unlink(test_loop, at("sub/b")));
  outcome("unlink", cw_fs_unlink(test_loop, at("sub/b")));
  list("readdir", at("sub"));
  outcome("rename", cw_fs_rename(test_loop, at("B"), at("sub")));
  list("readdir", at(""));
  return cw_ok(NULL);
}

static void stat_mkdir_rename_unlink_readdir(void **state) {
  (void)state;
  run_task(tree_ops, NULL);
  assert_rec("stat:ok size=11 file mode=644 stat:UV_ENOENT mkdir:ok mkdir:UV_EEXIST mkdir:UV_ENOENT "
             "stat:ok dir mode=750 open:UV_EISDIR stat:UV_ENOTDIR rename:ok stat:UV_ENOENT "
             "stat:ok size=11 file mode=644 mkdir:ok "
             "readdir:ok n=3 B/ c sub/ readdir:ok n=1 b readdir:UV_ENOENT readdir:UV_ENOTDIR "
             "unlink:UV_EISDIR rename:UV_ENOTEMPTY rename:UV_EISDIR unlink:ok unlink:UV_ENOENT readdir:ok n=0 "
             "rename:ok readdir:ok n=2 c sub/");
}

/* ---- whole files ---------------------------------------------------------------- */

typedef struct whole {
  char *data;
  size_t len;
  size_t size;
  char *pattern;
} whole;

static void read_back(whole *w, const char *label, const char *name) {
  w->data = NULL;
  w->len = 12345;
  cw_result r = outcome(label, cw_fs_read_file(test_loop, at(name), &w->data, &w->len));
  if (r.state != CW_FULFILLED)
    return;
  rec_fmt("len=%zu%s%s", w->len, r.value == w->data ? "" : " (not the value)", w->data[w->len] ? " (no NUL)" : "");
}

static cw_result whole_ops(void *arg) {
  whole *w = arg;
  outcome("write_file", cw_fs_write_file(test_loop, at("big"), w->pattern, w->size));
  read_back(w, "read_file", "big");
  rec(w->len == w->size && memcmp(w->data, w->pattern, w->size) == 0 ? "same" : "different");
  free(w->data);
  outcome("write_file", cw_fs_write_file(test_loop, at("big"), "short", 5));
  read_back(w, "read_file", "big");
  rec(w->data);
  free(w->data);
  outcome("write_file", cw_fs_write_file(test_loop, at("empty"), NULL, 0));
  read_back(w, "read_file", "empty");
  free(w->data);
  read_back(w, "read_file", "missing");
  read_back(w, "read_file", "");
  outcome("write_file", cw_fs_write_file(test_loop, at("no/such"), "x", 1));
  outcome("write_file", cw_fs_write_file(test_loop, at(""), "x", 1));
  return cw_ok(NULL);
}

/* Over a megabyte: several reads and writes of Node's 512 KiB chunks. */
static void read_file_write_file_round_trip(void **state) {
  (void)state;
  whole w = {.size = (1 << 20) + 3};
  w.pattern = malloc(w.size);
  for (size_t i = 0; i < w.size; i++)
    w.pattern[i] = (char)(i * 7 + i / 251);
  int fds = open_fds();
  run_task(whole_ops, &w);
  assert_int_equal(open_fds(), fds);
  assert_rec("write_file:ok read_file:ok len=1048579 same write_file:ok read_file:ok len=5 short "
             "write_file:ok read_file:ok len=0 read_file:UV_ENOENT read_file:UV_EISDIR "
             "write_file:UV_ENOENT write_file:UV_EISDIR");
  size_t len;
  char *data = get_file("big", &len);
  assert_int_equal(len, 5);
  assert_memory_equal(data, "short", 5);
  free(data);
  free(w.pattern);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    io_test(open_read_write_close),
    io_test(stat_mkdir_rename_unlink_readdir),
    io_test(read_file_write_file_round_trip),
  };
  return cmocka_run_group_tests_name("io: files", tests, NULL, NULL);
}
