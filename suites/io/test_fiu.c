/* libfiu from inside a test: fiu_enable on a port's point decides the code
 * the operation rejects with, and nothing reaches the file system or the
 * network. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#define FIU_ENABLE 1
#include <fiu-control.h>

#include "support.h"

#define CODE(uv) ((void *)(intptr_t)(uv))

/* Enables point afresh (libfiu leaks a point's name when it is enabled again). */
static void fault(const char *point, void *failinfo, unsigned flags) {
  fiu_disable(point);
  fiu_enable(point, 1, failinfo, flags);
}

static void read_once(const char *label, int fd) {
  char buf[8];
  memset(buf, '.', sizeof buf);
  cw_result r = counted(label, cw_fs_read(test_loop, fd, buf, sizeof buf - 1, -1));
  buf[sizeof buf - 1] = '\0';
  if (r.state == CW_REJECTED || r.value)
    rec(buf);
}

static cw_result faulted_reads(void *arg) {
  (void)arg;
  int fd = (int)(intptr_t)outcome("open", cw_fs_open(test_loop, at("f"), O_RDONLY, 0)).value;
  fault("clockwork/fs/read", CODE(UV_ENOSPC), 0);
  read_once("read", fd);
  fiu_disable("clockwork/fs/read");
  read_once("read", fd);
  outcome("close", cw_fs_close(test_loop, fd));
  fd = (int)(intptr_t)outcome("open", cw_fs_open(test_loop, at("f"), O_RDONLY, 0)).value;
  fault("clockwork/fs/read", NULL, 0);
  read_once("read", fd);
  fault("clockwork/fs/read", CODE(7), 0);
  read_once("read", fd);
  fault("clockwork/fs/read", CODE(UV_EINTR), FIU_ONETIME);
  read_once("read", fd);
  read_once("read", fd);
  read_once("read", fd);
  outcome("close", cw_fs_close(test_loop, fd));
  return cw_ok(NULL);
}

/* The failinfo's code (UV_EIO for NULL or a positive one), the buffer and
 * the file position untouched; FIU_ONETIME fails one call only. */
static void a_failing_point_rejects_with_its_failinfo(void **state) {
  (void)state;
  put_file("f", "abc", 3);
  run_task(faulted_reads, NULL);
  assert_rec("open:ok read:UV_ENOSPC ....... read:3 abc.... close:ok open:ok read:UV_EIO ....... "
             "read:UV_EIO ....... read:UV_EINTR ....... read:3 abc.... read:0 close:ok");
}

static cw_result faulted_whole_files(void *arg) {
  (void)arg;
  char *data = NULL;
  size_t len = 0;
  fault("clockwork/fs/read", CODE(UV_EIO), 0);
  outcome("read_file", cw_fs_read_file(test_loop, at("f"), &data, &len));
  rec(data ? "data" : "no data");
  fiu_disable("clockwork/fs/read");
  fault("clockwork/fs/open", CODE(UV_EROFS), 0);
  outcome("write_file", cw_fs_write_file(test_loop, at("f"), "new", 3));
  fiu_disable("clockwork/fs/open");
  fault("clockwork/fs/write", CODE(UV_ENOSPC), 0);
  outcome("write_file", cw_fs_write_file(test_loop, at("g"), "new", 3));
  return cw_ok(NULL);
}

/* Whole-file operations fail at their faulted step and still close the
 * file: a failed open leaves the file as it was; a failed write leaves it
 * created and truncated, as the open did. */
static void whole_files_fail_at_the_faulted_step(void **state) {
  (void)state;
  put_file("f", "old", 3);
  put_file("g", "old", 3);
  int fds = open_files();
  run_task(faulted_whole_files, NULL);
  assert_int_equal(open_files(), fds);
  assert_rec("read_file:UV_EIO no data write_file:UV_EROFS write_file:UV_ENOSPC");
  size_t len;
  char *data = get_file("f", &len);
  assert_int_equal(len, 3);
  assert_memory_equal(data, "old", 3);
  free(data);
  data = get_file("g", &len);
  assert_int_equal(len, 0);
  free(data);
}

static cw_result faulted_network(void *arg) {
  (void)arg;
  cw_socket *s = NULL;
  char address[46];
  cw_stat st;
  fault("clockwork/net/*", CODE(UV_ENETDOWN), 0);
  outcome("listen", cw_tcp_listen(test_loop, "127.0.0.1", 0, 0, &s));
  outcome("connect", cw_tcp_connect(test_loop, "127.0.0.1", 9, &s));
  rec(s ? "socket" : "no socket");
  outcome("resolve", cw_dns_resolve(test_loop, "localhost", address));
  outcome("stat", cw_fs_stat(test_loop, at(""), &st));
  return cw_ok(NULL);
}

/* A wildcard covers an area and nothing else. */
static void a_wildcard_covers_an_area(void **state) {
  (void)state;
  run_task(faulted_network, NULL);
  assert_rec("listen:UV_ENETDOWN connect:UV_ENETDOWN no socket resolve:ok stat:ok");
}

int main(void) {
  const struct CMUnitTest tests[] = {
    io_test(a_failing_point_rejects_with_its_failinfo),
    io_test(whole_files_fail_at_the_faulted_step),
    io_test(a_wildcard_covers_an_area),
  };
  return cmocka_run_group_tests_name("io: libfiu", tests, NULL, NULL);
}
