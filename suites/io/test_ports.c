/* What every port shares: completions as poll-phase macrotasks, the backend
 * interface the fakes plug into, loop free with operations in flight, and
 * misuse reported at the caller's line. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#define FIU_ENABLE 1
#include <fiu-control.h>

#include "support.h"

#define CODE(uv) ((void *)(intptr_t)(uv))

/* ---- completions: poll phase, one macrotask each -------------------------------- */

static uint64_t main_macrotask;

/* What a handler of a completion sees (the macrotask counted from main's),
 * then a timeout and an immediate set from it: inside an I/O callback the
 * immediate runs first. */
static cw_result seen(void *label, cw_result in) {
  rec_fmt("%s:%s:%s:+%llu", (const char *)label, in.state == CW_REJECTED ? cw_err_name(in.error) : "ok",
          cw_phase_name(cw_loop_phase(test_loop)),
          (unsigned long long)(cw_loop_macrotask_count(test_loop) - main_macrotask));
  cw_set_timeout(test_loop, 0, rec_fn, "timeout");
  cw_set_immediate(test_loop, rec_fn, "immediate");
  return cw_ok(NULL);
}

static cw_stat st;

static void main_stat(void *arg) {
  (void)arg;
  main_macrotask = cw_loop_macrotask_count(test_loop);
  cw_detach(cw_then(cw_fs_stat(test_loop, at(""), &st), seen, seen, "stat"));
}

/* The handler is the first job drained after the macrotask that follows
 * main's: the completion, in the poll phase, whether libuv or a fault
 * completed it. */
static void completions_are_poll_phase_macrotasks(void **state) {
  (void)state;
  assert_int_equal(cw_run(test_loop, main_stat, NULL), 0);
  assert_rec("stat:ok:microtask:+1 immediate timeout");
  rec_reset();
  fiu_enable("clockwork/fs/stat", 1, CODE(UV_EACCES), 0);
  assert_int_equal(cw_run(test_loop, main_stat, NULL), 0);
  assert_rec("stat:UV_EACCES:microtask:+1 immediate timeout");
}

static const char *const unlinks[2][2] = {{"u1", "u1-tick"}, {"u2", "u2-tick"}};

static cw_result seen_then_tick(void *labels, cw_result in) {
  const char *const *l = labels;
  rec_fmt("%s:%s:%llu", l[0], cw_err_name(in.error), (unsigned long long)cw_loop_macrotask_count(test_loop));
  cw_next_tick(test_loop, rec_fn, (void *)l[1]);
  return cw_ok(NULL);
}

static void main_two_unlinks(void *arg) {
  (void)arg;
  for (int i = 0; i < 2; i++)
    cw_detach(cw_then(cw_fs_unlink(test_loop, at("x")), NULL, seen_then_tick, (void *)unlinks[i]));
}

/* Two completions in one poll phase: the queues drain between them. */
static void queues_drain_between_two_completions(void **state) {
  (void)state;
  fiu_enable("clockwork/fs/unlink", 1, CODE(UV_EPERM), 0);
  assert_int_equal(cw_run(test_loop, main_two_unlinks, NULL), 0);
  assert_rec("u1:UV_EPERM:2 u1-tick u2:UV_EPERM:3 u2-tick");
}

/* ---- the backend interface ------------------------------------------------------------- */

static const char *submitted_file;
static int submitted_line;
static bool work_ran;

static void *never_run(void *arg) {
  work_ran = true;
  return arg;
}

/* A backend as the fakes are: results from a script, never the system. */
static void scripted_submit(void *ctx, cw_io_op *op) {
  (void)ctx;
  rec_fmt("submit:%s:%llu:%s", cw_op_name(op->kind), (unsigned long long)op->id, op->path ? op->path : "-");
  submitted_file = op->file;
  submitted_line = op->line;
  switch (op->kind) {
  case CW_OP_FS_STAT:
    op->stat.size = 42;
    cw_io_complete_soon(op, 0, NULL);
    break;
  case CW_OP_WORK_RUN:
    cw_io_complete_soon(op, 0, op->work_arg);
    break;
  case CW_OP_FS_READ:
    break; /* held until the loop is freed */
  default:
    cw_io_complete_soon(op, UV_ENOSYS, NULL);
    break;
  }
}

static void scripted_cancel(void *ctx, cw_io_op *op) {
  (void)ctx;
  rec_fmt("cancel:%s", cw_op_name(op->kind));
  cw_io_complete(op, UV_ECANCELED, NULL);
}

static const cw_io_backend scripted = {scripted_submit, scripted_cancel, NULL};

static int work_value;

static cw_result through_a_backend(void *arg) {
  (void)arg;
  cw_loop_set_io(test_loop, &scripted);
  cw_stat out = {0, 0, 0};
  char path[] = "/no/such";
  int line = __LINE__ + 1;
  cw_promise *p = cw_fs_stat(test_loop, path, &out);
  path[1] = 'X'; /* the port copied it */
  if (outcome("stat", p).state == CW_FULFILLED)
    rec_fmt("size=%llu", (unsigned long long)out.size);
  rec(submitted_line == line && strcmp(submitted_file, __FILE__) == 0 ? "(caller's site)" : "(another site)");
  cw_result r = outcome("work", cw_work(test_loop, never_run, &work_value));
  rec(r.value == &work_value ? "(value)" : "(not the value)");
  fiu_enable("clockwork/fs/unlink", 1, CODE(UV_EPERM), 0);
  outcome("unlink", cw_fs_unlink(test_loop, "/no/such"));
  cw_loop_set_io(test_loop, NULL);
  outcome("stat", cw_fs_stat(test_loop, "/no/such", &out));
  return cw_ok(NULL);
}

/* The port fills the operation (a copy of the path, the issue order, the
 * caller's site), the backend settles it; a faulted operation never
 * reaches the backend; NULL restores the real one. */
static void a_backend_runs_what_the_ports_start(void **state) {
  (void)state;
  work_ran = false;
  run_task(through_a_backend, NULL);
  assert_rec("submit:fs.stat:1:/no/such stat:ok size=42 (caller's site) submit:work.run:2:- work:ok (value) "
             "unlink:UV_EPERM stat:UV_ENOENT");
  assert_false(work_ran);
}

/* Freed with an operation its backend holds: cancel completes it there. */
static void loop_free_cancels_through_the_backend(void **state) {
  (void)state;
  cw_loop_set_io(test_loop, &scripted);
  char buf[4] = "....";
  cw_detach(cw_fs_read(test_loop, 7, buf, sizeof buf, 0));
  assert_int_equal(cw_io_in_flight(test_loop), 1);
  cw_loop_free(test_loop);
  test_loop = NULL;
  assert_rec("submit:fs.read:1:- cancel:fs.read");
  assert_memory_equal(buf, "....", 4);
}

/* ---- loop free with real operations in flight --------------------------------------- */

static atomic_int slow_started, slow_finished;

static void *slow(void *arg) {
  atomic_store(&slow_started, 1);
  usleep(20000);
  atomic_store(&slow_finished, 1);
  return arg;
}

static void settled_ok(cw_promise *p) {
  settle(p);
  assert_int_equal(cw_promise_state(p), CW_FULFILLED);
  cw_release(p);
}

/* Sockets open with a read and an accept pending, a connect, a read_file,
 * a stat and a work function running: cw_loop_free cancels or waits for
 * each, closes the sockets and the file, and settles nothing. */
static void loop_free_with_real_operations_in_flight(void **state) {
  (void)state;
  cw_loop_free(test_loop); /* counted apart from the loop's own descriptors */
  int fds = open_files();
  test_loop = cw_loop_new();
  put_file("f", "contents", 8);
  cw_socket *listener, *client, *server;
  settled_ok(cw_tcp_listen(test_loop, "127.0.0.1", 0, 0, &listener));
  int port = cw_tcp_port(listener);
  cw_promise *accepted = cw_tcp_accept(listener, &server);
  settled_ok(cw_tcp_connect(test_loop, "127.0.0.1", port, &client));
  settled_ok(accepted);

  char buf[4] = "....";
  char *data = NULL;
  size_t len = 0;
  cw_detach(cw_tcp_read(server, buf, sizeof buf));
  cw_detach(cw_tcp_accept(listener, NULL));
  cw_detach(cw_tcp_connect(test_loop, "127.0.0.1", port, NULL));
  cw_detach(cw_fs_read_file(test_loop, at("f"), &data, &len));
  cw_detach(cw_fs_stat(test_loop, at("f"), &st));
  atomic_store(&slow_started, 0);
  atomic_store(&slow_finished, 0);
  cw_detach(cw_work(test_loop, slow, NULL));
  assert_int_equal(cw_io_in_flight(test_loop), 6);
  while (!atomic_load(&slow_started))
    usleep(1000);
  cw_loop_free(test_loop);
  test_loop = NULL;
  assert_int_equal(atomic_load(&slow_finished), 1);
  assert_int_equal(open_files(), fds);
  assert_null(data);
  assert_int_equal(len, 0);
  assert_memory_equal(buf, "....", 4);
  assert_rec("");
}

/* ---- misuse ------------------------------------------------------------------------------ */

static void expect_misuse(const char *function, const char *message, int line) {
  misuse_report m = misuse_take();
  assert_string_equal(m.function, function);
  assert_string_equal(m.message, message);
  assert_string_equal(m.file, __FILE__);
  assert_int_equal(m.line, line);
}

static void bad_arguments_start_nothing(void **state) {
  (void)state;
  char buf[4];
  int line = LINE_OF(assert_null(cw_fs_open(test_loop, NULL, O_RDONLY, 0)));
  expect_misuse("cw_fs_open", "the path is NULL", line);
  line = LINE_OF(assert_null(cw_fs_read(NULL, 0, buf, sizeof buf, 0)));
  expect_misuse("cw_fs_read", "the loop is NULL", line);
  line = LINE_OF(assert_null(cw_fs_write(test_loop, 1, NULL, 3, 0)));
  expect_misuse("cw_fs_write", "the buffer is NULL", line);
  line = LINE_OF(assert_null(cw_fs_stat(test_loop, "/", NULL)));
  expect_misuse("cw_fs_stat", "the out pointer is NULL", line);
  line = LINE_OF(assert_null(cw_fs_rename(test_loop, "/a", NULL)));
  expect_misuse("cw_fs_rename", "the new path is NULL", line);
  line = LINE_OF(assert_null(cw_fs_read_file(test_loop, "/a", NULL, NULL)));
  expect_misuse("cw_fs_read_file", "the data pointer is NULL", line);
  line = LINE_OF(assert_null(cw_tcp_listen(test_loop, "127.0.0.1", 70000, 0, NULL)));
  expect_misuse("cw_tcp_listen", "port 70000 is out of range (0 to 65535)", line);
  line = LINE_OF(assert_null(cw_tcp_read(NULL, buf, sizeof buf)));
  expect_misuse("cw_tcp_read", "the socket is NULL", line);
  line = LINE_OF(assert_null(cw_work(test_loop, NULL, NULL)));
  expect_misuse("cw_work", "the function is NULL", line);
  assert_int_equal(cw_io_in_flight(test_loop), 0);
}

static int lines[5];
static int port_while_closing, port_after_close;

static cw_result misuse_sockets(void *arg) {
  (void)arg;
  cw_socket *listener;
  char buf[4];
  outcome("listen", cw_tcp_listen(test_loop, "127.0.0.1", 0, 0, &listener));
  cw_promise *accept = cw_tcp_accept(listener, NULL);
  lines[0] = LINE_OF(rec(cw_tcp_accept(listener, NULL) ? "second accept" : "refused"));
  lines[1] = LINE_OF(rec(cw_tcp_read(listener, buf, 0) ? "empty read" : "refused"));
  cw_promise *closed = cw_tcp_close(listener);
  lines[2] = LINE_OF(port_while_closing = cw_tcp_port(listener));
  lines[3] = LINE_OF(rec(cw_tcp_close(listener) ? "second close" : "refused"));
  outcome("accept", accept);
  outcome("close", closed);
  lines[4] = LINE_OF(port_after_close = cw_tcp_port(listener));
  return cw_ok(NULL);
}

static void main_misuse_sockets(void *arg) {
  (void)arg;
  cw_detach(cw_spawn(test_loop, misuse_sockets, NULL));
}

static void socket_misuse_is_reported(void **state) {
  (void)state;
  assert_int_equal(cw_run(test_loop, main_misuse_sockets, NULL), CW_EMISUSE);
  assert_rec("listen:ok refused refused refused accept:UV_ECANCELED close:ok");
  assert_int_equal(port_while_closing, -1);
  assert_int_equal(port_after_close, -1);
  expect_misuse("cw_tcp_accept", "an accept is already pending on this listener", lines[0]);
  expect_misuse("cw_tcp_read", "len is 0: a read fulfils with 0 only at the end of the stream", lines[1]);
  expect_misuse("cw_tcp_port", "the socket is closing: cw_tcp_close was called", lines[2]);
  expect_misuse("cw_tcp_close", "the socket is closing: cw_tcp_close was called", lines[3]);
  expect_misuse("cw_tcp_port", "stale socket handle: the socket was closed and freed", lines[4]);
}

/* ---- names ------------------------------------------------------------------------------- */

static void names_and_points(void **state) {
  (void)state;
  assert_string_equal(cw_op_name(CW_OP_FS_READ), "fs.read");
  assert_string_equal(cw_op_fiu_point(CW_OP_FS_READ), "clockwork/fs/read");
  assert_string_equal(cw_op_name(CW_OP_NET_SHUTDOWN), "net.shutdown");
  assert_string_equal(cw_op_fiu_point(CW_OP_DNS_RESOLVE), "clockwork/dns/resolve");
  assert_string_equal(cw_op_fiu_point(CW_OP_WORK_RUN), "clockwork/work/run");
  assert_null(cw_op_name(CW_OP_COUNT));
  assert_null(cw_op_fiu_point((cw_op_kind)-1));
  for (int k = 0; k < CW_OP_COUNT; k++) { /* "area.op" is "clockwork/area/op" */
    char point[64];
    snprintf(point, sizeof point, "clockwork/%s", cw_op_name((cw_op_kind)k));
    *strchr(point, '.') = '/';
    assert_string_equal(cw_op_fiu_point((cw_op_kind)k), point);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
    io_test(completions_are_poll_phase_macrotasks),
    io_test(queues_drain_between_two_completions),
    io_test(a_backend_runs_what_the_ports_start),
    io_test(loop_free_cancels_through_the_backend),
    io_test(loop_free_with_real_operations_in_flight),
    io_test(bad_arguments_start_nothing),
    io_test(socket_misuse_is_reported),
    io_test(names_and_points),
  };
  return cmocka_run_group_tests_name("io: ports", tests, NULL, NULL);
}
