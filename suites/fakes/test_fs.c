/* The fake file system behind the file ports: every operation and its
 * errors with exact expectations (the first three tests are the scenarios
 * of suites/io/fs_scenarios.c, which the real backend runs too),
 * descriptors, paths, POSIX rename and unlink, effects at the deadline,
 * durability across a crash, the teardown report of a file left open, and
 * the functions that seed and inspect the tree. With the argument "bench"
 * it times 100k small files and a 100 MB file (meson benchmark). */
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>

#include <clockwork/concurrency.h>
#include <clockwork/fakes.h>

#include "fs_scenarios.h"
#include "harness_fixture.h"

#define START_MS INT64_C(1767225600000) /* the harness's default wall clock: 2026-01-01T00:00:00Z */

/* The record starts with expected. */
static void assert_rec_starts(const char *expected) {
  if (strncmp(rec_seq(), expected, strlen(expected)) != 0)
    fail_msg("the record\n%s\ndoes not start with\n%s", rec_seq(), expected);
}

/* ---- the backend of fs_scenarios.c: the fake, under the test's harness ----------------- */

cw_loop *fs_loop(void) { return loop; }

const char *fs_dir(void) { return "/t"; }

void put_file(const char *name, const char *data, size_t len) {
  assert_int_equal(cw_fake_fs_put(h, at(name), data, len), 0);
}

char *get_file(const char *name, size_t *len) {
  const char *data = cw_fake_fs_get(h, at(name), len);
  char *copy = data ? malloc(*len + 1) : NULL;
  if (copy)
    memcpy(copy, data, *len + 1);
  return copy;
}

static int run_on_harness(cw_fn main) { return cw_harness_run(h, main, NULL); }

void run_task(cw_task_fn fn, void *arg) { run_as_task(loop, run_on_harness, fn, arg); }

int open_files(void) { return (int)cw_fake_fs_open_count(h); }

/* The fixture of the scenarios: the harness and the test's directory. */
static int scenario_setup(void **state) {
  if (harness_setup(state) != 0)
    return -1;
  return cw_fake_fs_mkdir(h, fs_dir());
}

#define scenario_test(fn) cmocka_unit_test_setup_teardown(fn, scenario_setup, harness_teardown)

/* ---- recording what each operation gave ------------------------------------------------- */

/* Opens path, recording "open:fd"; the descriptor, or -1. */
static int opened(const char *path, int flags) {
  cw_result r = counted("open", cw_fs_open(loop, path, flags, 0666));
  return r.state == CW_FULFILLED ? (int)(intptr_t)r.value : -1;
}

/* Reads up to len bytes at offset, recording "read:n" and what was read. */
static void read_and_show(int fd, size_t len, int64_t offset) {
  char buf[64] = {0};
  if (counted("read", cw_fs_read(loop, fd, buf, len < sizeof buf ? len : sizeof buf - 1, offset)).state ==
          CW_FULFILLED &&
      buf[0])
    rec(buf);
}

static void put(const char *path, const char *text) {
  assert_int_equal(cw_fake_fs_put(h, path, text, strlen(text)), 0);
}

/* The content of path in quotes, or "(none)"; four can be held at once. */
static const char *content(const char *path) {
  static char texts[4][128];
  static unsigned next;
  char *text = texts[next++ % 4];
  const char *data = cw_fake_fs_get(h, path, NULL);
  snprintf(text, sizeof texts[0], data ? "'%s'" : "(none)", data);
  return text;
}

/* What path is: "file", "dir" or "none". */
static const char *kind(const char *path) {
  unsigned type = cw_fake_fs_type(h, path);
  return type == S_IFREG ? "file" : type == S_IFDIR ? "dir" : type == 0 ? "none" : "?";
}

/* The content of path with its NULs shown as dots. */
static const char *dotted(const char *path) {
  static char text[64];
  size_t len;
  const char *data = cw_fake_fs_get(h, path, &len);
  assert_non_null(data);
  assert_true(len < sizeof text);
  for (size_t i = 0; i < len; i++)
    text[i] = data[i] ? data[i] : '.';
  text[len] = '\0';
  return text;
}

/* ---- descriptors --------------------------------------------------------------------------- */

static cw_result descriptor_ops(void *arg) {
  (void)arg;
  put("/d/f", "0123456789");
  int rd = opened("/d/f", O_RDONLY), wr = opened("/d/f", O_WRONLY), ap = opened("/d/f", O_RDWR | O_APPEND);
  outcome("close", cw_fs_close(loop, wr));
  wr = opened("/d/g", O_CREAT | O_WRONLY); /* the lowest free again */
  rec_fmt("open_count=%zu", cw_fake_fs_open_count(h));
  /* the current position moves; a read at an offset leaves it */
  read_and_show(rd, 4, -1);
  read_and_show(rd, 4, -1);
  read_and_show(rd, 2, 0);
  read_and_show(rd, 4, -1);
  read_and_show(rd, 4, -1);
  /* O_APPEND writes at the end, even at an offset */
  counted("write", cw_fs_write(loop, ap, "ab", 2, 0));
  counted("write", cw_fs_write(loop, ap, "c", 1, -1));
  read_and_show(ap, 3, 10);
  /* a write past the end leaves zeros before it; one at an offset leaves the position */
  counted("write", cw_fs_write(loop, wr, "xy", 2, 3));
  counted("write", cw_fs_write(loop, wr, "z", 1, -1));
  rec_fmt("g=%s", dotted("/d/g"));
  /* the wrong direction, descriptors never open or closed */
  counted("write", cw_fs_write(loop, rd, "x", 1, 0));
  read_and_show(wr, 1, 0);
  for (int fd = -1; fd <= 2; fd++)
    read_and_show(fd, 1, 0);
  read_and_show(99, 1, 0);
  outcome("fsync", cw_fs_fsync(loop, 99));
  outcome("close", cw_fs_close(loop, 99));
  /* O_TRUNC empties the file for every descriptor */
  int tr = opened("/d/f", O_WRONLY | O_TRUNC);
  read_and_show(rd, 4, 0);
  /* flags against what exists */
  opened("/d/f", O_CREAT | O_EXCL | O_WRONLY);
  opened("/d/f", O_RDONLY | O_DIRECTORY);
  int dir = opened("/d", O_RDONLY | O_DIRECTORY);
  read_and_show(dir, 4, 0);
  outcome("fsync", cw_fs_fsync(loop, dir));
  opened("/d", O_RDWR);
  opened("/d", O_CREAT | O_RDONLY);
  opened("/d", O_RDONLY | O_TRUNC);
  opened("/d/f", O_ACCMODE);
  opened("/d/new", O_CREAT | O_DIRECTORY | O_RDONLY);
  opened("/d/new", O_RDWR);
  int fds[] = {rd, ap, wr, tr, dir};
  for (size_t i = 0; i < sizeof fds / sizeof *fds; i++)
    outcome("close", cw_fs_close(loop, fds[i]));
  return cw_ok(NULL);
}

static void descriptors_are_the_lowest_free_from_3_with_positions_and_flags(void **state) {
  (void)state;
  run_task(descriptor_ops, NULL);
  assert_rec("open:3 open:4 open:5 close:ok open:4 open_count=3 "
             "read:4 0123 read:4 4567 read:2 01 read:2 89 read:0 "
             "write:2 write:1 read:3 abc "
             "write:2 write:1 g=z..xy "
             "write:UV_EBADF read:UV_EBADF read:UV_EBADF read:UV_EBADF read:UV_EBADF read:UV_EBADF "
             "read:UV_EBADF fsync:UV_EBADF close:UV_EBADF "
             "open:6 read:0 "
             "open:UV_EEXIST open:UV_ENOTDIR open:7 read:UV_EISDIR fsync:ok open:UV_EISDIR open:UV_EISDIR "
             "open:UV_EISDIR open:UV_EINVAL open:UV_EINVAL open:UV_ENOENT "
             "close:ok close:ok close:ok close:ok close:ok");
  assert_int_equal(cw_fake_fs_open_count(h), 0);
}

/* ---- paths --------------------------------------------------------------------------------- */

static cw_result path_ops(void *arg) {
  (void)arg;
  cw_stat st;
  put("/p/a", "A");
  /* absolute paths only: any other (the empty one too) is UV_EINVAL */
  opened("a", O_RDONLY);
  outcome("stat", cw_fs_stat(loop, "", &st));
  outcome("mkdir", cw_fs_mkdir(loop, "p/x", 0755));
  outcome("unlink", cw_fs_unlink(loop, "./p/a"));
  list("readdir", "p");
  outcome("rename", cw_fs_rename(loop, "/p/a", "b"));
  /* ".", ".." and repeated slashes; ".." of the root is the root */
  stat_of("stat", "//p/./a");
  stat_of("stat", "/p/../p//a");
  stat_of("stat", "/../../p/a");
  stat_of("stat", "/p/.");
  /* a file is no directory: not with a trailing slash, not before "." or ".." */
  stat_of("stat", "/p/a/");
  stat_of("stat", "/p/a/.");
  stat_of("stat", "/p/a/../a");
  opened("/p/a/", O_RDONLY);
  opened("/p/new/", O_CREAT | O_WRONLY);
  outcome("mkdir", cw_fs_mkdir(loop, "/p/m/", 0755));
  stat_of("stat", "/p/m/");
  /* names of up to NAME_MAX (255) bytes */
  char name[300] = "/p/";
  memset(name + 3, 'n', 256);
  stat_of("stat", name);
  name[3 + 255] = '\0';
  stat_of("stat", name);
  /* the root, ".", "..": no name to change */
  outcome("mkdir", cw_fs_mkdir(loop, "/", 0755));
  outcome("unlink", cw_fs_unlink(loop, "/"));
  outcome("rename", cw_fs_rename(loop, "/", "/r"));
  outcome("rename", cw_fs_rename(loop, "/p/a", "/p/."));
  outcome("rename", cw_fs_rename(loop, "/p/m/..", "/q"));
  stat_of("stat", "/");
  list("readdir", "/");
  return cw_ok(NULL);
}

static void paths_are_absolute_and_resolved(void **state) {
  (void)state;
  run_task(path_ops, NULL);
  assert_rec("open:UV_EINVAL stat:UV_EINVAL mkdir:UV_EINVAL unlink:UV_EINVAL readdir:UV_EINVAL rename:UV_EINVAL "
             "stat:ok size=1 file mode=644 stat:ok size=1 file mode=644 stat:ok size=1 file mode=644 "
             "stat:ok dir mode=755 "
             "stat:UV_ENOTDIR stat:UV_ENOTDIR stat:UV_ENOTDIR open:UV_ENOTDIR open:UV_EISDIR mkdir:ok "
             "stat:ok dir mode=755 stat:UV_ENAMETOOLONG stat:UV_ENOENT "
             "mkdir:UV_EEXIST unlink:UV_EISDIR rename:UV_EBUSY rename:UV_EBUSY rename:UV_EBUSY "
             "stat:ok dir mode=755 readdir:ok n=1 p/");
}

/* ---- rename and unlink ----------------------------------------------------------------------- */

static cw_result rename_ops(void *arg) {
  (void)arg;
  /* a file replaces a file at once; the replaced one stays readable where open */
  put("/r/a", "new");
  put("/r/b", "old");
  int fd = opened("/r/b", O_RDONLY);
  outcome("rename", cw_fs_rename(loop, "/r/a", "/r/b"));
  rec_fmt("b=%s a=%s", content("/r/b"), content("/r/a"));
  read_and_show(fd, 8, 0);
  outcome("close", cw_fs_close(loop, fd));
  outcome("rename", cw_fs_rename(loop, "/r/b", "/r/b"));
  rec_fmt("b=%s", content("/r/b"));
  /* a directory replaces an empty directory, with what it holds */
  put("/r/d1/x", "x");
  assert_int_equal(cw_fake_fs_mkdir(h, "/r/d2"), 0);
  outcome("rename", cw_fs_rename(loop, "/r/d1", "/r/d2"));
  rec_fmt("d1=%s d2/x=%s", kind("/r/d1"), kind("/r/d2/x"));
  /* what cannot be */
  outcome("rename", cw_fs_rename(loop, "/r/d2", "/r/d2/sub"));
  outcome("rename", cw_fs_rename(loop, "/r/d2", "/r/d2"));
  outcome("rename", cw_fs_rename(loop, "/r/d2", "/r/b"));
  outcome("rename", cw_fs_rename(loop, "/r/b", "/r/d2"));
  put("/r/e/y", "y");
  outcome("rename", cw_fs_rename(loop, "/r/d2", "/r/e"));
  outcome("rename", cw_fs_rename(loop, "/r/missing", "/r/z"));
  outcome("rename", cw_fs_rename(loop, "/r/b", "/r/nodir/z"));
  outcome("rename", cw_fs_rename(loop, "/r/b", "/r/b/z"));
  outcome("rename", cw_fs_rename(loop, "/r/b", "/r/z/"));
  outcome("rename", cw_fs_rename(loop, "/r/b/", "/r/z"));
  /* between directories; a directory moved takes its tree along */
  outcome("rename", cw_fs_rename(loop, "/r/e/y", "/r/d2/y"));
  list("readdir", "/r/e");
  list("readdir", "/r/d2");
  outcome("rename", cw_fs_rename(loop, "/r/d2", "/r/e/d3"));
  stat_of("stat", "/r/e/d3/../d3/y");
  outcome("rename", cw_fs_rename(loop, "/r/e", "/r/e/d3/f"));
  outcome("rename", cw_fs_rename(loop, "/r/e/d3", "/r/e"));
  list("readdir", "/r");
  return cw_ok(NULL);
}

static void rename_follows_posix(void **state) {
  (void)state;
  run_task(rename_ops, NULL);
  assert_rec("open:3 rename:ok b='new' a=(none) read:3 old close:ok rename:ok b='new' "
             "rename:ok d1=none d2/x=file "
             "rename:UV_EINVAL rename:ok rename:UV_ENOTDIR rename:UV_EISDIR rename:UV_ENOTEMPTY rename:UV_ENOENT "
             "rename:UV_ENOENT rename:UV_ENOTDIR rename:UV_ENOTDIR rename:UV_ENOTDIR "
             "rename:ok readdir:ok n=0 readdir:ok n=2 x y rename:ok stat:ok size=1 file mode=644 "
             "rename:UV_EINVAL rename:UV_ENOTEMPTY readdir:ok n=2 b e/");
}

/* Paths in a directory that moves: the file system remembers the last
 * directory resolved (here /m/a/.., that is /m) and must let go of it when
 * a directory on the way there loses its name. */
static cw_result moved_ops(void *arg) {
  (void)arg;
  put("/m/f", "F");
  assert_int_equal(cw_fake_fs_mkdir(h, "/m/a"), 0);
  outcome("rename", cw_fs_rename(loop, "/m/a", "/m/a/../x"));
  opened("/m/a/../f", O_RDONLY);
  int fd = opened("/m/x/../f", O_RDONLY);
  read_and_show(fd, 8, 0);
  outcome("close", cw_fs_close(loop, fd));
  /* a directory moved into another is found where it went, with its files */
  put("/m/x/g", "G");
  assert_int_equal(cw_fake_fs_mkdir(h, "/m/y"), 0);
  outcome("rename", cw_fs_rename(loop, "/m/x", "/m/y/x"));
  opened("/m/x/g", O_RDONLY);
  fd = opened("/m/y/x/g", O_RDONLY);
  read_and_show(fd, 8, 0);
  outcome("close", cw_fs_close(loop, fd));
  rec_fmt("f=%s x=%s", kind("/m/y/x/../../f"), kind("/m/x"));
  return cw_ok(NULL);
}

static void paths_follow_a_directory_that_moves(void **state) {
  (void)state;
  run_task(moved_ops, NULL);
  assert_rec("rename:ok open:UV_ENOENT open:3 read:1 F close:ok rename:ok open:UV_ENOENT open:3 read:1 G close:ok "
             "f=file x=none");
}

static cw_result unlink_ops(void *arg) {
  (void)arg;
  put("/u/f", "data");
  int fd = opened("/u/f", O_RDWR);
  outcome("unlink", cw_fs_unlink(loop, "/u/f"));
  stat_of("stat", "/u/f");
  list("readdir", "/u");
  rec_fmt("f=%s", kind("/u/f"));
  read_and_show(fd, 8, 0);
  counted("write", cw_fs_write(loop, fd, "DATA", 4, 0));
  read_and_show(fd, 8, 0);
  rec_fmt("open_count=%zu", cw_fake_fs_open_count(h));
  outcome("close", cw_fs_close(loop, fd));
  rec_fmt("open_count=%zu", cw_fake_fs_open_count(h));
  fd = opened("/u/f", O_CREAT | O_RDWR);
  read_and_show(fd, 8, 0);
  outcome("close", cw_fs_close(loop, fd));
  return cw_ok(NULL);
}

/* POSIX: the name goes, the file lives on while a descriptor holds it. */
static void unlinking_an_open_file_keeps_it_for_its_descriptor(void **state) {
  (void)state;
  run_task(unlink_ops, NULL);
  assert_rec("open:3 unlink:ok stat:UV_ENOENT readdir:ok n=0 f=none read:4 data write:4 read:4 DATA "
             "open_count=1 close:ok open_count=0 open:3 read:0 close:ok");
}

/* ---- modes and times ------------------------------------------------------------------------- */

/* path's mtime after the start of the wall clock, recording "label=+ms". */
static void mtime_of(const char *label, const char *path) {
  cw_stat st = {0, 0, 0};
  if (outcome(label, cw_fs_stat(loop, path, &st)).state == CW_FULFILLED)
    rec_fmt("%s=+%lld", label, (long long)(st.mtime_ms - START_MS));
}

static cw_result mode_ops(void *arg) {
  (void)arg;
  outcome("mkdir", cw_fs_mkdir(loop, "/m", 0777));
  stat_of("stat", "/m");
  outcome("close", cw_fs_close(loop, opened("/m/f", O_CREAT | O_WRONLY)));
  stat_of("stat", "/m/f");
  outcome("mkdir", cw_fs_mkdir(loop, "/m", 0755));
  outcome("mkdir", cw_fs_mkdir(loop, "/m/f", 0755));
  outcome("mkdir", cw_fs_mkdir(loop, "/m/f/x", 0755));
  outcome("mkdir", cw_fs_mkdir(loop, "/nope/x", 0755));
  /* times from the virtual wall clock: a change sets the file's, a name the directory's */
  mtime_of("file", "/m/f");
  outcome("sleep", cw_sleep(loop, 1500));
  outcome("write_file", cw_fs_write_file(loop, "/m/f", "x", 1));
  mtime_of("file", "/m/f");
  mtime_of("dir", "/m");
  outcome("sleep", cw_sleep(loop, 500));
  outcome("unlink", cw_fs_unlink(loop, "/m/f"));
  mtime_of("dir", "/m");
  return cw_ok(NULL);
}

/* Modes as given, less a umask of 022; mtime from the harness's wall clock. */
static void modes_and_times(void **state) {
  (void)state;
  run_task(mode_ops, NULL);
  assert_rec("mkdir:ok stat:ok dir mode=755 open:3 close:ok stat:ok size=0 file mode=644 "
             "mkdir:UV_EEXIST mkdir:UV_EEXIST mkdir:UV_ENOTDIR mkdir:UV_ENOENT "
             "file:ok file=+0 sleep:ok write_file:ok file:ok file=+1500 dir:ok dir=+0 sleep:ok unlink:ok "
             "dir:ok dir=+2000");
}

/* ---- effects at the deadline ------------------------------------------------------------------- */

static cw_result effect_ops(void *arg) {
  (void)arg;
  put("/e/f", "old");
  cw_stat before, after;
  cw_promise *w = cw_fs_write_file(loop, "/e/f", "new", 3);
  cw_promise *s1 = cw_fs_stat(loop, "/e/g", &before);
  cw_promise *m = cw_fs_mkdir(loop, "/e/g", 0755);
  cw_promise *s2 = cw_fs_stat(loop, "/e/g", &after);
  rec_fmt("f=%s g=%s", content("/e/f"), kind("/e/g"));
  outcome("stat", s1);
  outcome("mkdir", m);
  outcome("stat", s2);
  outcome("write_file", w);
  rec_fmt("f=%s", content("/e/f"));
  return cw_ok(NULL);
}

/* Nothing happens when an operation starts: each takes effect when it
 * completes, in the order they complete (issue order, with no latency). */
static void operations_take_effect_when_they_complete(void **state) {
  (void)state;
  run_task(effect_ops, NULL);
  assert_rec("f='old' g=none stat:UV_ENOENT mkdir:ok stat:ok write_file:ok f='new'");
}

/* Two writes at offset 0 of one file: the first issued takes 30 ms, the
 * second 10 ms (rules on the first and second fs.write), so the first
 * lands last and its bytes stay. */
static cw_result note_write(void *label, cw_result in) {
  rec_fmt("%s:%ld@%llu f=%s", (const char *)label, (long)(intptr_t)in.value, (unsigned long long)cw_clock_now(h),
      content("/l/f"));
  return cw_ok(NULL);
}

static cw_result racing_writes(void *arg) {
  (void)arg;
  put("/l/f", "....");
  int fd = opened("/l/f", O_WRONLY);
  cw_promise *first = cw_then(cw_fs_write(loop, fd, "AAA", 3, 0), note_write, NULL, "first");
  cw_promise *second = cw_then(cw_fs_write(loop, fd, "BB", 2, 0), note_write, NULL, "second");
  outcome("first", first);
  outcome("second", second);
  outcome("close", cw_fs_close(loop, fd));
  return cw_ok(NULL);
}

static void writes_take_effect_in_deadline_order(void **state) {
  (void)state;
  cw_rule *slow = cw_fake_rule(h, &(cw_rule_spec){.op = "fs.write", .match = "/l/*",
                                                 .latency = {CW_LATENCY_FIXED, 30, 0},
                                                 .trigger = {CW_TRIGGER_NTH, 1, 0, 0, 0}});
  cw_rule *fast = cw_fake_rule(h, &(cw_rule_spec){.op = "fs.write", .match = "/l/*",
                                                 .latency = {CW_LATENCY_FIXED, 10, 0},
                                                 .trigger = {CW_TRIGGER_NTH, 2, 0, 0, 0}});
  assert_non_null(slow);
  assert_non_null(fast);
  run_task(racing_writes, NULL);
  assert_rec("open:3 second:2@10 f='BB..' first:3@30 f='AAA.' first:ok second:ok close:ok");
  assert_int_equal(cw_rule_applied(slow), 1);
  assert_int_equal(cw_rule_applied(fast), 1);
}

/* Short reads and writes move 1 to len - 1 bytes (a single byte moves
 * whole); the whole-file operations go on until everything is moved. */
static cw_result short_ops(void *arg) {
  whole *w = arg;
  put("/short/ten", "0123456789");
  int fd = opened("/short/ten", O_RDWR);
  char buf[16] = {0};
  size_t n = (size_t)(intptr_t)cw_await(cw_fs_read(loop, fd, buf, 10, 0)).value;
  rec_fmt("read:%s", n >= 1 && n <= 9 && memcmp(buf, "0123456789", n) == 0 && !buf[n] ? "short" : "wrong");
  counted("read", cw_fs_read(loop, fd, buf, 1, 0));
  size_t k = (size_t)(intptr_t)cw_await(cw_fs_write(loop, fd, "abcdefgh", 8, 0)).value;
  const char *now = cw_fake_fs_get(h, "/short/ten", NULL);
  rec_fmt("write:%s", k >= 1 && k <= 7 && memcmp(now, "abcdefgh", k) == 0 && strcmp(now + k, &"0123456789"[k]) == 0
                      ? "short"
                      : "wrong");
  outcome("close", cw_fs_close(loop, fd));
  outcome("write_file", cw_fs_write_file(loop, at("big"), w->pattern, w->size));
  read_back(w, "read_file", "big");
  rec_fmt("%s", w->len == w->size && memcmp(w->data, w->pattern, w->size) == 0 ? "same" : "different");
  free(w->data);
  rec_fmt("(n=%zu k=%zu)", n, k); /* the same seed gives the same counts */
  return cw_ok(NULL);
}

static void short_faults_move_fewer_bytes(void **state) {
  (void)state;
  whole w = {.size = (1 << 20) + 3};
  w.pattern = malloc(w.size);
  for (size_t i = 0; i < w.size; i++)
    w.pattern[i] = (char)(i * 3 + i / 127);
  char *first = NULL;
  for (int run = 0; run < 2; run++) {
    if (run) { /* again, on a new harness with the same seed */
      assert_int_equal(harness_teardown(NULL), 0);
      assert_int_equal(harness_open(capture_opts(0)), 0);
    }
    assert_int_equal(cw_fake_fs_mkdir(h, "/t"), 0);
    cw_rule *reads = cw_fake_rule(h, &(cw_rule_spec){.op = "fs.read", .fault = {CW_FAULT_SHORT, 0}});
    cw_rule *writes = cw_fake_rule(h, &(cw_rule_spec){.op = "fs.write", .fault = {CW_FAULT_SHORT, 0}});
    run_task(short_ops, &w);
    assert_rec_starts("open:3 read:short read:1 write:short close:ok write_file:ok read_file:ok len=1048579 same (n=");
    /* without the fault, 4 writes: one, then write_file's three chunks of up to 512 KiB */
    assert_true(cw_rule_applied(writes) > 4);
    assert_int_equal(cw_rule_applied(reads), cw_rule_matches(reads));
    if (run)
      assert_string_equal(rec_seq(), first);
    free(first);
    first = strdup(rec_seq());
  }
  free(first);
  free(w.pattern);
}

/* ---- durability --------------------------------------------------------------------------------- */

/* Writes text to path through a new descriptor, with an fsync if asked, then renames it to to. */
static void replace(const char *path, const char *to, const char *text, bool sync) {
  int fd = opened(path, O_CREAT | O_WRONLY | O_TRUNC);
  counted("write", cw_fs_write(loop, fd, text, strlen(text), -1));
  if (sync)
    outcome("fsync", cw_fs_fsync(loop, fd));
  outcome("close", cw_fs_close(loop, fd));
  outcome("rename", cw_fs_rename(loop, path, to));
}

static cw_result crash_ops(void *arg) {
  (void)arg;
  put("/c/config", "v1");
  /* the safe way: write a temporary file, fsync it, rename it over */
  replace("/c/config.tmp", "/c/config", "v2", true);
  cw_fake_fs_crash(h);
  rec_fmt("config=%s tmp=%s", content("/c/config"), content("/c/config.tmp"));
  /* without the fsync the rename survives, the data does not */
  replace("/c/config.tmp", "/c/config", "v3", false);
  cw_fake_fs_crash(h);
  rec_fmt("config=%s", content("/c/config"));
  /* a file keeps what its last fsync saw; descriptors stay open */
  put("/c/log", "base");
  int fd = opened("/c/log", O_WRONLY | O_APPEND);
  counted("write", cw_fs_write(loop, fd, "+1", 2, -1));
  outcome("fsync", cw_fs_fsync(loop, fd));
  counted("write", cw_fs_write(loop, fd, "+2", 2, -1));
  rec_fmt("log=%s", content("/c/log"));
  cw_fake_fs_crash(h);
  rec_fmt("log=%s open_count=%zu", content("/c/log"), cw_fake_fs_open_count(h));
  counted("write", cw_fs_write(loop, fd, "+3", 2, -1));
  rec_fmt("log=%s", content("/c/log"));
  outcome("close", cw_fs_close(loop, fd));
  /* writes through O_DSYNC are synced as made; a truncation is lost like a write */
  fd = opened("/c/d", O_CREAT | O_WRONLY | O_DSYNC);
  counted("write", cw_fs_write(loop, fd, "sync", 4, -1));
  outcome("close", cw_fs_close(loop, fd));
  put("/c/t", "keep");
  outcome("close", cw_fs_close(loop, opened("/c/t", O_WRONLY | O_TRUNC)));
  rec_fmt("t=%s", content("/c/t"));
  cw_fake_fs_crash(h);
  rec_fmt("d=%s t=%s", content("/c/d"), content("/c/t"));
  /* a file never synced comes back empty; its name stays */
  fd = opened("/c/n", O_CREAT | O_WRONLY);
  counted("write", cw_fs_write(loop, fd, "lost", 4, -1));
  outcome("close", cw_fs_close(loop, fd));
  cw_fake_fs_crash(h);
  rec_fmt("n=%s", content("/c/n"));
  return cw_ok(NULL);
}

static void a_crash_keeps_what_was_synced(void **state) {
  (void)state;
  run_task(crash_ops, NULL);
  assert_rec("open:3 write:2 fsync:ok close:ok rename:ok config='v2' tmp=(none) "
             "open:3 write:2 close:ok rename:ok config='' "
             "open:3 write:2 fsync:ok write:2 log='base+1+2' log='base+1' open_count=1 write:2 log='base+1+3' "
             "close:ok open:3 write:4 close:ok open:3 close:ok t='' d='sync' t='keep' "
             "open:3 write:4 close:ok n=''");
}

/* ---- teardown ---------------------------------------------------------------------------------- */

static int left_open_at[2];

static cw_result leave_two_open(void *arg) {
  (void)arg;
  put("/o/a", "a");
  put("/o/b", "b");
  left_open_at[0] = __LINE__, (void)cw_await(cw_fs_open(loop, "/o/a", O_RDONLY, 0));
  left_open_at[1] = __LINE__, (void)cw_await(cw_fs_open(loop, "/o/b", O_RDWR, 0));
  char *data;
  size_t len;
  outcome("read_file", cw_fs_read_file(loop, "/o/a", &data, &len));
  free(data);
  rec_fmt("open_count=%zu", cw_fake_fs_open_count(h));
  return cw_ok(NULL);
}

/* One failure per descriptor left open, where it was opened. */
static void teardown_reports_each_file_left_open(void **state) {
  (void)state;
  run_task(leave_two_open, NULL);
  assert_rec("read_file:ok open_count=2");
  cw_harness_free(h);
  h = NULL;
  expect_failure(__FILE__, left_open_at[0],
                 "fake file /o/a opened here still open (descriptor 3; close the files a test opens)");
  expect_failure(__FILE__, left_open_at[1],
                 "fake file /o/b opened here still open (descriptor 4; close the files a test opens)");
}

static void files_left_open_when_allowed(void **state) {
  (void)state;
  run_task(leave_two_open, NULL);
  assert_rec("read_file:ok open_count=2");
}

/* ---- seeding and inspecting ---------------------------------------------------------------------- */

static cw_result seen_through_a_descriptor(void *arg) {
  (void)arg;
  int fd = opened("/s/a/b/c", O_RDONLY);
  assert_int_equal(cw_fake_fs_put(h, "/s/a/b/c", "replaced", 8), 0);
  read_and_show(fd, 16, 0);
  outcome("close", cw_fs_close(loop, fd));
  return cw_ok(NULL);
}

static void put_mkdir_get_and_type(void **state) {
  (void)state;
  /* put makes the parents; mkdir is mkdir -p */
  assert_int_equal(cw_fake_fs_put(h, "/s/a/b/c", "abc", 3), 0);
  assert_int_equal(cw_fake_fs_put(h, "/s/empty", NULL, 0), 0);
  assert_int_equal(cw_fake_fs_mkdir(h, "/s/x/y"), 0);
  assert_int_equal(cw_fake_fs_mkdir(h, "/s/x/y"), 0);
  assert_int_equal(cw_fake_fs_mkdir(h, "/"), 0);
  assert_string_equal(kind("/"), "dir");
  assert_string_equal(kind("/s/a/b"), "dir");
  assert_string_equal(kind("/s/a/b/c"), "file");
  assert_string_equal(kind("/s/x/y"), "dir");
  assert_string_equal(kind("/s/zz"), "none");
  size_t len = 99;
  assert_string_equal(cw_fake_fs_get(h, "/s/a/b/c", &len), "abc");
  assert_int_equal(len, 3);
  assert_string_equal(cw_fake_fs_get(h, "/s/empty", &len), "");
  assert_int_equal(len, 0);
  assert_null(cw_fake_fs_get(h, "/s/a", &len));
  assert_null(cw_fake_fs_get(h, "/s/zz", NULL));
  /* a put replaces the content a descriptor reads */
  run_task(seen_through_a_descriptor, NULL);
  assert_rec("open:3 read:8 replaced close:ok");
  assert_int_equal(unchecked_failures(), 0);
  /* what cannot be done fails the test at the call and changes nothing */
  int at;
  at = LINE_OF(assert_int_equal(cw_fake_fs_mkdir(h, "/s/a/b/c"), UV_EEXIST));
  expect_failure(__FILE__, at, "cw_fake_fs_mkdir: /s/a/b/c: file already exists (UV_EEXIST)");
  at = LINE_OF(assert_int_equal(cw_fake_fs_mkdir(h, "/s/a/b/c/d"), UV_ENOTDIR));
  expect_failure(__FILE__, at, "cw_fake_fs_mkdir: /s/a/b/c/d: not a directory (UV_ENOTDIR)");
  at = LINE_OF(assert_int_equal(cw_fake_fs_put(h, "/s/a", "x", 1), UV_EISDIR));
  expect_failure(__FILE__, at, "cw_fake_fs_put: /s/a: illegal operation on a directory (UV_EISDIR)");
  at = LINE_OF(assert_int_equal(cw_fake_fs_put(h, "/s/a/b/c/d", "x", 1), UV_ENOTDIR));
  expect_failure(__FILE__, at, "cw_fake_fs_put: /s/a/b/c/d: not a directory (UV_ENOTDIR)");
  at = LINE_OF(assert_int_equal(cw_fake_fs_put(h, "/s/new/", "x", 1), UV_EISDIR));
  expect_failure(__FILE__, at, "cw_fake_fs_put: /s/new/: illegal operation on a directory (UV_EISDIR)");
  at = LINE_OF(assert_int_equal(cw_fake_fs_put(h, "s/rel", "x", 1), UV_EINVAL));
  expect_failure(__FILE__, at, "cw_fake_fs_put: path \"s/rel\" is not absolute");
  at = LINE_OF(assert_int_equal(cw_fake_fs_put(h, NULL, "x", 1), UV_EINVAL));
  expect_failure(__FILE__, at, "cw_fake_fs_put: path is NULL");
  at = LINE_OF(assert_int_equal(cw_fake_fs_put(h, "/s/n", NULL, 3), UV_EINVAL));
  expect_failure(__FILE__, at, "cw_fake_fs_put: data is NULL and len is 3");
  at = LINE_OF(assert_int_equal(cw_fake_fs_mkdir(h, ""), UV_EINVAL));
  expect_failure(__FILE__, at, "cw_fake_fs_mkdir: path \"\" is not absolute");
  at = LINE_OF(assert_null(cw_fake_fs_get(h, "rel", NULL)));
  expect_failure(__FILE__, at, "cw_fake_fs_get: path \"rel\" is not absolute");
  at = LINE_OF(assert_int_equal(cw_fake_fs_type(h, NULL), 0));
  expect_failure(__FILE__, at, "cw_fake_fs_type: path is NULL");
  assert_string_equal(kind("/s/n"), "none");
  assert_string_equal(kind("/s/new"), "none");
  assert_string_equal(cw_fake_fs_get(h, "/s/a/b/c", NULL), "replaced");
}

/* The next failure is function's, called at line on a harness without fakes. */
static void expect_no_fakes(int line, const char *function) {
  char body[128];
  snprintf(body, sizeof body, "%s: this harness has no fakes (opts.real_io is set)", function);
  expect_failure(__FILE__, line, body);
}

/* Without fakes each function fails the test at the call and does nothing. */
static void a_harness_with_real_io_has_no_fake_files(void **state) {
  (void)state;
  expect_no_fakes(LINE_OF(assert_int_equal(cw_fake_fs_put(h, "/x", "x", 1), UV_EINVAL)), "cw_fake_fs_put");
  expect_no_fakes(LINE_OF(assert_int_equal(cw_fake_fs_mkdir(h, "/x"), UV_EINVAL)), "cw_fake_fs_mkdir");
  expect_no_fakes(LINE_OF(assert_null(cw_fake_fs_get(h, "/x", NULL))), "cw_fake_fs_get");
  expect_no_fakes(LINE_OF(assert_int_equal(cw_fake_fs_type(h, "/"), 0)), "cw_fake_fs_type");
  expect_no_fakes(LINE_OF(cw_fake_fs_crash(h)), "cw_fake_fs_crash");
  expect_no_fakes(LINE_OF(assert_int_equal(cw_fake_fs_open_count(h), 0)), "cw_fake_fs_open_count");
}

/* ---- large directories -------------------------------------------------------------------------- */

/* Directories of 6 to 3072 names, each filled to the brim of its table
 * before it grows (3/4), where runs of slots wrap around its end most. */
enum { MANY = 3072 };

static const char *many_path(int size, int i) {
  static char path[32];
  snprintf(path, sizeof path, "/many%d/f%d", size, i);
  return path;
}

/* Unlinks the names not multiple of 3, in an order unlike their insertion. */
static cw_result thin_out(void *arg) {
  (void)arg;
  for (int size = 6; size <= MANY; size *= 2)
    for (int i = size - 1; i >= 0; i--)
      if (i % 3 && cw_await(cw_fs_unlink(loop, many_path(size, i))).state != CW_FULFILLED)
        rec_fmt("unlink %s failed", many_path(size, i));
  list("readdir", "/many3072");
  return cw_ok(NULL);
}

/* A directory's table grows and loses names without losing the others. */
static void large_directories_keep_every_name(void **state) {
  (void)state;
  for (int size = 6; size <= MANY; size *= 2)
    for (int i = 0; i < size; i++)
      assert_int_equal(cw_fake_fs_put(h, many_path(size, i), "x", 1), 0);
  run_task(thin_out, NULL);
  assert_rec_starts("readdir:ok n=1024 f0 f1002 f1005 ");
  for (int size = 6; size <= MANY; size *= 2)
    for (int i = 0; i < size; i++)
      assert_string_equal(kind(many_path(size, i)), i % 3 ? "none" : "file");
}

/* ---- benchmark ---------------------------------------------------------------------------------- */

/* CPU time: the figures hold on a loaded machine (the harness leaves this clock real). */
static void clock_start(struct timespec *t0) { clock_gettime(CLOCK_PROCESS_CPUTIME_ID, t0); }

static double ms_since(const struct timespec *t0) {
  struct timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return (double)(t.tv_sec - t0->tv_sec) * 1e3 + (double)(t.tv_nsec - t0->tv_nsec) / 1e6;
}

static long peak_rss_kib(void) {
  FILE *status = fopen("/proc/self/status", "r");
  char line[256];
  long kib = -1;
  while (status && fgets(line, sizeof line, status))
    if (sscanf(line, "VmHWM: %ld kB", &kib) == 1)
      break;
  if (status)
    fclose(status);
  return kib;
}

enum { BENCH_FILES = 100000, BENCH_BIG = 100 << 20 };

static bool bench_ok;

static cw_result bench_ops(void *arg) {
  char *big = arg, *back = NULL;
  size_t len = 0, n = 0;
  cw_dirent *entries = NULL;
  struct timespec t0;
  clock_start(&t0);
  bool ok = cw_await(cw_fs_readdir(loop, "/small", &entries, &n)).state == CW_FULFILLED && n == BENCH_FILES;
  cw_fs_free_entries(entries, n);
  printf("readdir of %d entries: %.1f ms CPU\n", BENCH_FILES, ms_since(&t0));
  clock_start(&t0);
  ok = ok && cw_await(cw_fs_write_file(loop, "/big", big, BENCH_BIG)).state == CW_FULFILLED;
  printf("write_file of 100 MB (512 KiB writes): %.1f ms CPU\n", ms_since(&t0));
  clock_start(&t0);
  ok = ok && cw_await(cw_fs_read_file(loop, "/big", &back, &len)).state == CW_FULFILLED;
  printf("read_file of 100 MB: %.1f ms CPU\n", ms_since(&t0));
  ok = ok && len == BENCH_BIG && memcmp(back, big, len) == 0;
  free(back);
  bench_ok = ok;
  return cw_ok(NULL);
}

static void spawn_bench(void *big) { cw_detach(cw_spawn(loop, bench_ops, big)); }

/* 100k small files put, listed; a 100 MB file written and read through the ports. */
static int bench(void) {
  if (harness_open(capture_opts(0)) < 0)
    return 1;
  struct timespec t0;
  clock_start(&t0);
  char path[64];
  for (int i = 0; i < BENCH_FILES; i++) {
    snprintf(path, sizeof path, "/small/file-%06d.txt", i);
    if (cw_fake_fs_put(h, path, path, strlen(path)) != 0)
      return 1;
  }
  printf("put of %d small files: %.1f ms CPU\n", BENCH_FILES, ms_since(&t0));
  char *big = malloc(BENCH_BIG);
  if (!big)
    return 1;
  for (size_t i = 0; i < BENCH_BIG; i++)
    big[i] = (char)(i * 7 + i / 251);
  int rc = cw_harness_run(h, spawn_bench, big);
  free(big);
  harness_close();
  printf("peak RSS: %ld MiB\n", peak_rss_kib() / 1024);
  return rc != 0 || !bench_ok || captured.len != 0;
}

static const cw_harness_opts allow_open_files = {.seed = CAPTURE_SEED, .allow = CW_ALLOW_OPEN_FILES};
static const cw_harness_opts real_io = {.seed = CAPTURE_SEED, .real_io = true};

int main(int argc, char **argv) {
  if (argc == 2 && strcmp(argv[1], "bench") == 0)
    return bench();
  const struct CMUnitTest tests[] = {
      scenario_test(open_read_write_close),
      scenario_test(stat_mkdir_rename_unlink_readdir),
      scenario_test(read_file_write_file_round_trip),
      harness_test(descriptors_are_the_lowest_free_from_3_with_positions_and_flags),
      harness_test(paths_are_absolute_and_resolved),
      harness_test(rename_follows_posix),
      harness_test(paths_follow_a_directory_that_moves),
      harness_test(unlinking_an_open_file_keeps_it_for_its_descriptor),
      harness_test(modes_and_times),
      harness_test(operations_take_effect_when_they_complete),
      harness_test(writes_take_effect_in_deadline_order),
      harness_test(short_faults_move_fewer_bytes),
      harness_test(a_crash_keeps_what_was_synced),
      harness_test(teardown_reports_each_file_left_open),
      harness_test_with(files_left_open_when_allowed, &allow_open_files),
      harness_test(put_mkdir_get_and_type),
      harness_test_with(a_harness_with_real_io_has_no_fake_files, &real_io),
      harness_test(large_directories_keep_every_name),
  };
  return cmocka_run_group_tests_name("fakes: files", tests, NULL, NULL);
}
