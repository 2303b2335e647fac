/* TCP over loopback, the resolver and libuv's threadpool on the real
 * backend: exact bytes, end of stream, closes that cancel what is pending. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "support.h"

/* Reads once from s and records "label:N text". */
static void read_text(const char *label, cw_socket *s) {
  char buf[64] = {0};
  if (counted(label, cw_tcp_read(s, buf, sizeof buf - 1)).state == CW_FULFILLED && buf[0])
    rec(buf);
}

static int listener_port, client_port;

static cw_result conversation(void *arg) {
  (void)arg;
  cw_socket *listener = NULL, *client = NULL, *server = NULL;
  cw_result r = outcome("listen", cw_tcp_listen(test_loop, "127.0.0.1", 0, 0, &listener));
  rec(r.value == listener ? "(value)" : "(not the value)");
  listener_port = cw_tcp_port(listener);
  cw_promise *accepted = cw_tcp_accept(listener, &server);
  outcome("connect", cw_tcp_connect(test_loop, "127.0.0.1", listener_port, &client));
  client_port = cw_tcp_port(client);
  outcome("accept", accepted);
  counted("client-write", cw_tcp_write(client, "ping", 4));
  read_text("server-read", server);
  counted("server-write", cw_tcp_write(server, "pong!", 5));
  outcome("client-shutdown", cw_tcp_shutdown(client));
  read_text("server-read", server);
  read_text("client-read", client);
  outcome("server-shutdown", cw_tcp_shutdown(server));
  read_text("client-read", client);
  outcome("close", cw_tcp_close(server));
  outcome("close", cw_tcp_close(client));
  outcome("close", cw_tcp_close(listener));
  outcome("connect", cw_tcp_connect(test_loop, "127.0.0.1", listener_port, &client));
  return cw_ok(NULL);
}

static void listen_connect_accept_write_read_shutdown_close(void **state) {
  (void)state;
  run_task(conversation, NULL);
  assert_rec("listen:ok (value) connect:ok accept:ok client-write:4 server-read:4 ping server-write:5 "
             "client-shutdown:ok server-read:0 client-read:5 pong! server-shutdown:ok client-read:0 "
             "close:ok close:ok close:ok connect:UV_ECONNREFUSED");
  assert_true(listener_port > 0);
  assert_int_equal(client_port, listener_port);
}

/* Records the outcome of a pending operation when it settles. */
static cw_result note(void *label, cw_result in) {
  if (in.state == CW_REJECTED)
    rec_fmt("%s:%s", (const char *)label, cw_err_name(in.error));
  else
    rec_fmt("%s:ok", (const char *)label);
  return cw_ok(NULL);
}

static cw_result close_while_pending(void *arg) {
  (void)arg;
  cw_socket *listener, *client, *server;
  outcome("listen", cw_tcp_listen(test_loop, "127.0.0.1", 0, 4, &listener));
  int port = cw_tcp_port(listener);
  cw_promise *accepted = cw_tcp_accept(listener, &server);
  outcome("connect", cw_tcp_connect(test_loop, "127.0.0.1", port, &client));
  outcome("accept", accepted);
  char buf[8];
  cw_promise *pending[] = {
    cw_then(cw_tcp_read(server, buf, sizeof buf), note, note, "read"),
    cw_then(cw_tcp_accept(listener, NULL), note, note, "accept"),
    cw_then(cw_tcp_close(server), note, note, "close-server"),
    cw_then(cw_tcp_close(listener), note, note, "close-listener"),
  };
  rec("closing");
  outcome("all", cw_all(test_loop, pending, 4, NULL));
  outcome("listen", cw_tcp_listen(test_loop, "127.0.0.1", port, 0, &listener));
  outcome("listen", cw_tcp_listen(test_loop, "127.0.0.1", port, 0, NULL));
  outcome("connect", cw_tcp_connect(test_loop, "localhost", port, NULL));
  outcome("connect", cw_tcp_connect(test_loop, "::1x", port, NULL));
  outcome("close", cw_tcp_close(listener));
  outcome("close", cw_tcp_close(client));
  return cw_ok(NULL);
}

/* Pending operations reject with UV_ECANCELED before their close fulfils
 * (libuv runs close callbacks last closed first, as Node sees them); the
 * port can be listened on again; names are not addresses. */
static void close_cancels_pending_operations(void **state) {
  (void)state;
  run_task(close_while_pending, NULL);
  assert_rec("listen:ok connect:ok accept:ok closing accept:UV_ECANCELED close-listener:ok read:UV_ECANCELED "
             "close-server:ok all:ok listen:ok listen:UV_EADDRINUSE connect:UV_EINVAL connect:UV_EINVAL "
             "close:ok close:ok");
}

/* ---- DNS ------------------------------------------------------------------------ */

static char address[46];

static cw_result resolve(void *arg) {
  (void)arg;
  cw_result r = outcome("resolve", cw_dns_resolve(test_loop, "localhost", address));
  rec(r.value == address ? "(value)" : "(not the value)");
  r = cw_await(cw_dns_resolve(test_loop, "name.invalid", address + 40));
  rec(r.state == CW_REJECTED && strncmp(cw_err_name(r.error), "UV_EAI_", 7) == 0 ? "invalid:UV_EAI_*"
                                                                                   : "invalid:resolved");
  return cw_ok(NULL);
}

static void resolve_localhost(void **state) {
  (void)state;
  run_task(resolve, NULL);
  assert_rec("resolve:ok (value) invalid:UV_EAI_*");
  if (strcmp(address, "::1") != 0)
    assert_string_equal(address, "127.0.0.1");
}

/* ---- work -------------------------------------------------------------------------- */

static pthread_t loop_thread;
static bool ran_elsewhere;

static void *sum_to(void *arg) {
  ran_elsewhere = !pthread_equal(pthread_self(), loop_thread);
  intptr_t n = (intptr_t)arg, sum = 0;
  for (intptr_t i = 1; i <= n; i++)
    sum += i;
  return (void *)sum;
}

static cw_result work(void *arg) {
  (void)arg;
  counted("work", cw_work(test_loop, sum_to, (void *)(intptr_t)1000));
  return cw_ok(NULL);
}

static void work_runs_on_the_threadpool(void **state) {
  (void)state;
  loop_thread = pthread_self();
  ran_elsewhere = false;
  run_task(work, NULL);
  assert_rec("work:500500");
  assert_true(ran_elsewhere);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    io_test(listen_connect_accept_write_read_shutdown_close),
    io_test(close_cancels_pending_operations),
    io_test(resolve_localhost),
    io_test(work_runs_on_the_threadpool),
  };
  return cmocka_run_group_tests_name("io: net, dns, work", tests, NULL, NULL);
}
