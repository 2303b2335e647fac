#include "fs_scenarios.h"

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <cmocka.h>

const char *at(const char *name) {
  static char paths[4][512];
  static unsigned next;
  char *p = paths[next++ % 4];
  snprintf(p, sizeof paths[0], "%s/%s", fs_dir(), name);
  return p;
}

void stat_of(const char *label, const char *path) {
  cw_stat st = {0, 0, 0};
  if (outcome(label, cw_fs_stat(fs_loop(), path, &st)).state != CW_FULFILLED)
    return;
  if (S_ISDIR(st.mode)) /* a directory's size depends on the file system */
    rec_fmt("dir mode=%o", (unsigned)(st.mode & 0777));
  else
    rec_fmt("size=%llu file mode=%o%s", (unsigned long long)st.size, (unsigned)(st.mode & 0777),
            llabs(st.mtime_ms - (int64_t)time(NULL) * 1000) < 60000 ? "" : " (mtime is not now)");
}

void list(const char *label, const char *path) {
  cw_dirent *entries = (cw_dirent *)&entries; /* must be overwritten */
  size_t n = 99;
  cw_result r = outcome(label, cw_fs_readdir(fs_loop(), path, &entries, &n));
  if (r.state != CW_FULFILLED)
    return;
  rec_fmt("n=%zu%s", n, entries == r.value ? "" : " (not the value)");
  for (size_t i = 0; i < n; i++)
    rec_fmt("%s%s", entries[i].name, entries[i].is_dir ? "/" : "");
  if (n == 0 && entries)
    rec("(entries not NULL)");
  cw_fs_free_entries(entries, n);
}

/* name holds exactly text, NUL-terminated. */
static void assert_file(const char *name, const char *text) {
  size_t len;
  char *data = get_file(name, &len);
  assert_non_null(data);
  assert_int_equal(len, strlen(text));
  assert_memory_equal(data, text, len + 1);
  free(data);
}

/* ---- one operation at a time ------------------------------------------------ */

static cw_result file_ops(void *arg) {
  (void)arg;
  cw_loop *loop = fs_loop();
  char buf[16];
  cw_result r = outcome("open", cw_fs_open(loop, at("a"), O_CREAT | O_EXCL | O_RDWR, 0640));
  int fd = (int)(intptr_t)r.value;
  counted("write", cw_fs_write(loop, fd, "hello world", 11, -1));
  outcome("fsync", cw_fs_fsync(loop, fd));
  memset(buf, 0, sizeof buf);
  counted("read", cw_fs_read(loop, fd, buf, 5, 6));
  rec(buf);
  counted("read", cw_fs_read(loop, fd, buf, sizeof buf, 11));
  counted("write", cw_fs_write(loop, fd, "J", 1, 0));
  memset(buf, 0, sizeof buf);
  counted("read", cw_fs_read(loop, fd, buf, sizeof buf, 0));
  rec(buf);
  outcome("close", cw_fs_close(loop, fd));
  outcome("close", cw_fs_close(loop, fd));
  counted("read", cw_fs_read(loop, fd, buf, 1, 0));
  outcome("open", cw_fs_open(loop, at("a"), O_CREAT | O_EXCL | O_RDWR, 0640));
  outcome("open", cw_fs_open(loop, at("missing"), O_RDONLY, 0));
  return cw_ok(NULL);
}

void open_read_write_close(void **state) {
  (void)state;
  run_task(file_ops, NULL);
  assert_rec("open:ok write:11 fsync:ok read:5 world read:0 write:1 read:11 Jello world close:ok "
             "close:UV_EBADF read:UV_EBADF open:UV_EEXIST open:UV_ENOENT");
  assert_file("a", "Jello world");
}

static cw_result tree_ops(void *arg) {
  (void)arg;
  cw_loop *loop = fs_loop();
  put_file("a", "hello world", 11);
  stat_of("stat", at("a"));
  stat_of("stat", at("missing"));
  outcome("mkdir", cw_fs_mkdir(loop, at("sub"), 0750));
  outcome("mkdir", cw_fs_mkdir(loop, at("sub"), 0750));
  outcome("mkdir", cw_fs_mkdir(loop, at("none/sub"), 0750));
  stat_of("stat", at("sub"));
  outcome("open", cw_fs_open(loop, at("sub"), O_WRONLY, 0));
  stat_of("stat", at("a/x"));
  outcome("rename", cw_fs_rename(loop, at("a"), at("sub/b")));
  stat_of("stat", at("a"));
  stat_of("stat", at("sub/b"));
  put_file("c", "", 0);
  outcome("mkdir", cw_fs_mkdir(loop, at("B"), 0700));
  list("readdir", at(""));
  list("readdir", at("sub"));
  list("readdir", at("missing"));
  list("readdir", at("c"));
  outcome("unlink", cw_fs_unlink(loop, at("sub")));
  outcome("rename", cw_fs_rename(loop, at("B"), at("sub")));
  outcome("rename", cw_fs_rename(loop, at("c"), at("sub")));
  outcome("unlink", cw_fs_unlink(loop, at("sub/b")));
  outcome("unlink", cw_fs_unlink(loop, at("sub/b")));
  list("readdir", at("sub"));
  outcome("rename", cw_fs_rename(loop, at("B"), at("sub")));
  list("readdir", at(""));
  return cw_ok(NULL);
}

void stat_mkdir_rename_unlink_readdir(void **state) {
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

void read_back(whole *w, const char *label, const char *name) {
  w->data = NULL;
  w->len = 12345;
  cw_result r = outcome(label, cw_fs_read_file(fs_loop(), at(name), &w->data, &w->len));
  if (r.state != CW_FULFILLED)
    return;
  rec_fmt("len=%zu%s%s", w->len, r.value == w->data ? "" : " (not the value)", w->data[w->len] ? " (no NUL)" : "");
}

static cw_result whole_ops(void *arg) {
  whole *w = arg;
  cw_loop *loop = fs_loop();
  outcome("write_file", cw_fs_write_file(loop, at("big"), w->pattern, w->size));
  read_back(w, "read_file", "big");
  rec(w->len == w->size && memcmp(w->data, w->pattern, w->size) == 0 ? "same" : "different");
  free(w->data);
  outcome("write_file", cw_fs_write_file(loop, at("big"), "short", 5));
  read_back(w, "read_file", "big");
  rec(w->data);
  free(w->data);
  outcome("write_file", cw_fs_write_file(loop, at("empty"), NULL, 0));
  read_back(w, "read_file", "empty");
  free(w->data);
  read_back(w, "read_file", "missing");
  read_back(w, "read_file", "");
  outcome("write_file", cw_fs_write_file(loop, at("no/such"), "x", 1));
  outcome("write_file", cw_fs_write_file(loop, at(""), "x", 1));
  return cw_ok(NULL);
}

void read_file_write_file_round_trip(void **state) {
  (void)state;
  whole w = {.size = (1 << 20) + 3};
  w.pattern = malloc(w.size);
  for (size_t i = 0; i < w.size; i++)
    w.pattern[i] = (char)(i * 7 + i / 251);
  int files = open_files();
  run_task(whole_ops, &w);
  assert_int_equal(open_files(), files);
  assert_rec("write_file:ok read_file:ok len=1048579 same write_file:ok read_file:ok len=5 short "
             "write_file:ok read_file:ok len=0 read_file:UV_ENOENT read_file:UV_EISDIR "
             "write_file:UV_ENOENT write_file:UV_EISDIR");
  assert_file("big", "short");
  free(w.pattern);
}
