/* The fake network: refused connects, latency each way, ephemeral ports and
 * backlogs, byte streams in order, shutdown, close in the close phase,
 * resets, partitions and heals, scripted peers and their failures, and
 * loop free with sockets open. Every outcome is recorded with its virtual
 * time ("read:\"ping\"@60"). */
#include <clockwork/fakes.h>

#include "harness_fixture.h"

static unsigned long long now(void) { return (unsigned long long)cw_clock_now(h); }

/* Awaits p; records "label:ok@t", with the count "label:N@t", or "label:UV_X@t". */
static cw_result outcome(const char *label, cw_promise *p, bool count) {
  cw_result r = cw_await(p);
  if (r.state == CW_REJECTED)
    rec_fmt("%s:%s@%llu", label, cw_err_name(r.error), now());
  else if (count)
    rec_fmt("%s:%zu@%llu", label, (size_t)(uintptr_t)r.value, now());
  else
    rec_fmt("%s:ok@%llu", label, now());
  return r;
}
#define done(label, p) outcome(label, p, false)
#define counted(label, p) outcome(label, p, true)

/* Reads up to len (< 64) bytes from s: "label:\"text\"@t", "label:0@t" or the error. */
static void read_text(const char *label, cw_socket *s, size_t len) {
  char buf[64] = {0};
  cw_result r = cw_await(cw_tcp_read(s, buf, len));
  if (r.state == CW_REJECTED)
    rec_fmt("%s:%s@%llu", label, cw_err_name(r.error), now());
  else if (!r.value)
    rec_fmt("%s:0@%llu", label, now());
  else
    rec_fmt("%s:\"%s\"@%llu", label, buf, now());
}

static void spawn_all(void *tasks) {
  for (cw_task_fn *fn = tasks; *fn; fn++)
    cw_detach(cw_spawn(loop, *fn, NULL));
}
/* Runs the tasks (started in this order) until nothing is left. */
#define run(...) assert_int_equal(cw_harness_run(h, spawn_all, (cw_task_fn[]){__VA_ARGS__, NULL}), 0)

/* Frees the harness within the test, to check its teardown's failures. */
static void free_harness(void) {
  cw_harness_free(h);
  h = NULL;
}

/* ---- connect, listen, accept ----------------------------------------------------- */

static cw_result connect_to_nobody(void *arg) {
  (void)arg;
  done("local", cw_tcp_connect(loop, "nobody", 1, NULL));
  done("db", cw_tcp_connect(loop, "db", 5432, NULL));
  return cw_ok(NULL);
}

/* Refused once the round trip is made: twice the link's latency. */
static void connect_is_refused_after_the_round_trip(void **state) {
  (void)state;
  cw_fake_net_latency(h, "db", 20);
  run(connect_to_nobody);
  assert_rec("local:UV_ECONNREFUSED@0 db:UV_ECONNREFUSED@40");
}

static cw_socket *listener, *client, *server;

static cw_result echo_server(void *arg) {
  (void)arg;
  done("listen", cw_tcp_listen(loop, "db", 7, 0, &listener));
  done("accept", cw_tcp_accept(listener, &server));
  char buf[16];
  cw_result r = counted("server-read", cw_tcp_read(server, buf, sizeof buf));
  counted("server-write", cw_tcp_write(server, buf, (size_t)(uintptr_t)r.value));
  read_text("server-read", server, 16);
  done("server-close", cw_tcp_close(server));
  done("listener-close", cw_tcp_close(listener));
  return cw_ok(NULL);
}

static cw_result echo_client(void *arg) {
  (void)arg;
  done("connect", cw_tcp_connect(loop, "db", 7, &client));
  counted("write", cw_tcp_write(client, "ping", 4));
  read_text("read", client, 16);
  done("close", cw_tcp_close(client));
  return cw_ok(NULL);
}

/* Latency 20: connected at 40 (connect first, then the accept it allows);
 * "ping" reaches the server at 60, its echo the client at 80; the client's
 * close reaches the server as the end of the stream at 100. */
static void echo_takes_the_latency_each_way(void **state) {
  (void)state;
  cw_fake_net_latency(h, "db", 20);
  run(echo_server, echo_client);
  assert_rec("listen:ok@0 connect:ok@40 accept:ok@40 write:4@40 server-read:4@60 "
             "server-write:4@60 read:\"ping\"@80 close:ok@80 server-read:0@100 "
             "server-close:ok@100 listener-close:ok@100");
}

static int ports[3];

static cw_result ephemeral(void *arg) {
  (void)arg;
  cw_socket *a, *b, *c1;
  done("listen", cw_tcp_listen(loop, "local", 0, 1, &a));
  done("listen", cw_tcp_listen(loop, "local", 0, 0, &b));
  ports[0] = cw_tcp_port(a);
  ports[1] = cw_tcp_port(b);
  done("taken", cw_tcp_listen(loop, "local", ports[0], 0, NULL));
  done("other-host", cw_tcp_listen(loop, "api", ports[0], 0, &c1));
  ports[2] = cw_tcp_port(c1);
  /* a backlog of 1: the second connection waiting to be accepted is refused */
  cw_socket *connected, *accepted;
  done("connect", cw_tcp_connect(loop, "local", ports[0], &connected));
  done("full", cw_tcp_connect(loop, "local", ports[0], NULL));
  done("accept", cw_tcp_accept(a, &accepted));
  rec_fmt("accepted-port:%d", cw_tcp_port(accepted));
  done("close", cw_tcp_close(accepted));
  done("close", cw_tcp_close(connected));
  done("close", cw_tcp_close(a));
  done("close", cw_tcp_close(b));
  done("close", cw_tcp_close(c1));
  return cw_ok(NULL);
}

/* Port 0 takes the next free port from 49152; a port is per host; a full
 * backlog refuses; an accept takes a connection that waited. */
static void listen_on_port_0_takes_ephemeral_ports(void **state) {
  (void)state;
  run(ephemeral);
  assert_rec("listen:ok@0 listen:ok@0 taken:UV_EADDRINUSE@0 other-host:ok@0 connect:ok@0 "
             "full:UV_ECONNREFUSED@0 accept:ok@0 accepted-port:49152 close:ok@0 close:ok@0 "
             "close:ok@0 close:ok@0 close:ok@0");
  assert_int_equal(ports[0], 49152);
  assert_int_equal(ports[1], 49153);
  assert_int_equal(ports[2], 49152);
}

/* ---- byte streams ------------------------------------------------------------------- */

/* Connected on "db" (latency 10, so at 20): the listener, client and server. */
static void connect_pair(void) {
  done("listen", cw_tcp_listen(loop, "db", 80, 0, &listener));
  cw_promise *accepted = cw_tcp_accept(listener, &server);
  done("connect", cw_tcp_connect(loop, "db", 80, &client));
  done("accept", accepted);
}

static void close_all(void) {
  done("close", cw_tcp_close(client));
  done("close", cw_tcp_close(server));
  done("close", cw_tcp_close(listener));
}

static cw_result in_order(void *arg) {
  (void)arg;
  connect_pair();
  /* the first write travels slower; the second, handed over after it,
   * waits for it */
  cw_fake_net_latency(h, "db", 50);
  counted("write", cw_tcp_write(client, "hello ", 6));
  cw_fake_net_latency(h, "db", 10);
  counted("write", cw_tcp_write(client, "world", 5));
  read_text("read", server, 4);
  read_text("read", server, 32);
  close_all();
  return cw_ok(NULL);
}

static void bytes_arrive_in_order_and_reads_take_what_is_there(void **state) {
  (void)state;
  cw_fake_net_latency(h, "db", 10);
  run(in_order);
  assert_rec("listen:ok@0 connect:ok@20 accept:ok@20 write:6@20 write:5@20 read:\"hell\"@70 "
             "read:\"o world\"@70 close:ok@70 close:ok@70 close:ok@70");
}

static cw_result shut(void *arg) {
  (void)arg;
  connect_pair();
  counted("write", cw_tcp_write(client, "bye", 3));
  done("shutdown", cw_tcp_shutdown(client));
  counted("late-write", cw_tcp_write(client, "x", 1));
  done("again", cw_tcp_shutdown(client));
  read_text("read", server, 32);
  read_text("read", server, 32);
  /* the other direction still works */
  counted("reply", cw_tcp_write(server, "ok", 2));
  read_text("client-read", client, 32);
  close_all();
  return cw_ok(NULL);
}

/* The shutdown follows the writes before it; the server reads them, then 0. */
static void shutdown_ends_the_stream_and_later_writes_fail(void **state) {
  (void)state;
  cw_fake_net_latency(h, "db", 10);
  run(shut);
  assert_rec("listen:ok@0 connect:ok@20 accept:ok@20 write:3@20 shutdown:ok@20 "
             "late-write:UV_EPIPE@20 again:UV_ENOTCONN@20 read:\"bye\"@30 read:0@30 "
             "reply:2@30 client-read:\"ok\"@40 close:ok@40 close:ok@40 close:ok@40");
}

/* ---- close ---------------------------------------------------------------------------- */

static void say(void *label) { rec_fmt("%s@%llu", (const char *)label, now()); }

static cw_result noted(void *label, cw_result in) {
  if (in.state == CW_REJECTED)
    rec_fmt("%s:%s@%llu", (const char *)label, cw_err_name(in.error), now());
  else
    rec_fmt("%s:ok@%llu", (const char *)label, now());
  return cw_ok(NULL);
}

static cw_result close_pending(void *arg) {
  (void)arg;
  connect_pair();
  char buf[8];
  cw_promise *pending[] = {
    cw_then(cw_tcp_read(server, buf, sizeof buf), noted, noted, "read"),
    cw_then(cw_tcp_accept(listener, NULL), noted, noted, "accept"),
    cw_then(cw_tcp_close(server), noted, noted, "close-server"),
    cw_then(cw_tcp_close(listener), noted, noted, "close-listener"),
  };
  cw_set_timeout(loop, 0, say, "timeout");
  cw_set_immediate(loop, say, "immediate");
  done("all", cw_all(loop, pending, 4, NULL));
  read_text("client-read", client, 8);
  done("close", cw_tcp_close(client));
  return cw_ok(NULL);
}

/* Called from a poll-phase continuation, the closes complete in the close
 * phase of that turn: after its immediate, before the next turn's timeout;
 * each socket's pending operations first, with UV_ECANCELED, the last
 * socket closed first (libuv's order, as on the real backend). The client
 * reads the end of the stream. */
static void close_cancels_pending_operations_in_the_close_phase(void **state) {
  (void)state;
  cw_fake_net_latency(h, "db", 10);
  run(close_pending);
  assert_rec("listen:ok@0 connect:ok@20 accept:ok@20 immediate@20 accept:UV_ECANCELED@20 "
             "close-listener:ok@20 read:UV_ECANCELED@20 close-server:ok@20 all:ok@20 "
             "timeout@21 client-read:0@30 close:ok@30");
}

/* ---- resets ------------------------------------------------------------------------------ */

static void reset_db(void *arg) {
  (void)arg;
  rec_fmt("reset:%zu@%llu", cw_fake_net_reset(h, "db", 0), now());
  rec_fmt("again:%zu", cw_fake_net_reset(h, "db", 80));
}

static cw_result reset_reader(void *arg) {
  (void)arg;
  read_text("server-read", server, 8);
  return cw_ok(NULL);
}

static cw_result mid_read(void *arg) {
  (void)arg;
  connect_pair();
  cw_detach(cw_spawn(loop, reset_reader, NULL));
  cw_set_timeout(loop, 30, reset_db, NULL);
  read_text("client-read", client, 8);
  counted("write", cw_tcp_write(client, "x", 1));
  read_text("read", client, 8);
  done("shutdown", cw_tcp_shutdown(server));
  close_all();
  return cw_ok(NULL);
}

/* Reads pending on both ends fail at once; later reads, writes and
 * shutdowns too; the sockets still close. */
static void reset_fails_both_ends_mid_read(void **state) {
  (void)state;
  cw_fake_net_latency(h, "db", 10);
  run(mid_read);
  assert_rec("listen:ok@0 connect:ok@20 accept:ok@20 reset:1@50 again:0 "
             "client-read:UV_ECONNRESET@50 server-read:UV_ECONNRESET@50 "
             "write:UV_ECONNRESET@50 read:UV_ECONNRESET@50 shutdown:UV_ECONNRESET@50 "
             "close:ok@50 close:ok@50 close:ok@50");
}

static cw_result reset_then_close(void *arg) {
  (void)arg;
  connect_pair();
  char buf[8];
  cw_promise *read = cw_then(cw_tcp_read(client, buf, sizeof buf), noted, noted, "read");
  rec_fmt("reset:%zu", cw_fake_net_reset(h, "db", 80));
  done("close", cw_tcp_close(client));
  cw_await(read);
  done("close", cw_tcp_close(server));
  done("close", cw_tcp_close(listener));
  return cw_ok(NULL);
}

/* A read the reset fails is still pending when its socket closes in the
 * same callback: the close cancels it first. */
static void close_right_after_a_reset_cancels_the_read(void **state) {
  (void)state;
  run(reset_then_close);
  assert_rec("listen:ok@0 connect:ok@0 accept:ok@0 reset:1 read:UV_ECANCELED@0 close:ok@0 "
             "close:ok@0 close:ok@0");
}

/* ---- partitions -------------------------------------------------------------------------- */

static void cut_both(void *arg) {
  (void)arg;
  cw_fake_net_partition(h, "db", CW_NET_BOTH);
}

static void heal(void *arg) {
  (void)arg;
  rec_fmt("heal@%llu", now());
  cw_fake_net_heal(h, "db");
}

static cw_result partitioned(void *arg) {
  (void)arg;
  connect_pair(); /* at 20 */
  cw_set_timeout(loop, 5, cut_both, NULL);
  cw_set_timeout(loop, 80, heal, NULL);
  counted("write", cw_tcp_write(client, "up", 2)); /* due at 30: held */
  cw_socket *late;
  cw_promise *connecting = cw_tcp_connect(loop, "db", 80, &late); /* due at 40: held */
  read_text("server-read", server, 8);
  done("late-connect", connecting);
  /* one way: the server's data waits, the client's goes through */
  cw_fake_net_partition(h, "db", CW_NET_OUTBOUND);
  cw_set_timeout(loop, 100, heal, NULL);
  counted("down", cw_tcp_write(server, "down", 4));
  counted("up", cw_tcp_write(client, "up", 2));
  read_text("server-read", server, 8);
  read_text("client-read", client, 8);
  done("close", cw_tcp_close(late));
  close_all();
  return cw_ok(NULL);
}

/* Cut both ways at 25, healed at 100: "up" (due at 30) arrives at 110; the
 * connect due at 40 starts over from the heal and is made at 120. Cut
 * outbound at 120 and healed at 220: the server's "down" arrives at 230,
 * the client's "up" at 130 as usual. */
static void partitions_hold_data_and_connects_until_healed(void **state) {
  (void)state;
  cw_fake_net_latency(h, "db", 10);
  run(partitioned);
  assert_rec("listen:ok@0 connect:ok@20 accept:ok@20 write:2@20 heal@100 "
             "server-read:\"up\"@110 late-connect:ok@120 down:4@120 up:2@120 "
             "server-read:\"up\"@130 heal@220 client-read:\"down\"@230 close:ok@230 "
             "close:ok@230 close:ok@230 close:ok@230");
}

/* ---- scripted peers ------------------------------------------------------------------- */

static const char request[] = "GET /health HTTP/1.1\r\nHost: api\r\n\r\n";
static const char response[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

static cw_result http_get(void *arg) {
  (void)arg;
  cw_socket *s;
  done("connect", cw_tcp_connect(loop, "api", 80, &s));
  counted("write", cw_tcp_write(s, request, 9)); /* in two parts: matched as they come */
  counted("write", cw_tcp_write(s, request + 9, sizeof request - 1 - 9));
  char buf[64] = {0};
  counted("read", cw_tcp_read(s, buf, sizeof buf - 1));
  rec_fmt("%s", strcmp(buf, response) == 0 ? "(the response)" : buf);
  read_text("read", s, 8);
  done("close", cw_tcp_close(s));
  return cw_ok(NULL);
}

/* Latency 10: the request arrives at 30; the response is sent 5 ms later,
 * at 35, the end of the stream right after it: both arrive at 45. */
static void scripted_peer_plays_an_http_exchange(void **state) {
  (void)state;
  cw_fake_net_latency(h, "api", 10);
  cw_fake_peer *api = cw_fake_net_peer(h, "api", 80);
  cw_fake_peer_expect(api, request, sizeof request - 1);
  cw_fake_peer_send(api, 5, response, sizeof response - 1);
  cw_fake_peer_shutdown(api, 0);
  run(http_get, http_get);
  assert_rec("connect:ok@20 connect:ok@20 write:9@20 write:9@20 write:26@20 write:26@20 "
             "read:40@45 (the response) read:40@45 (the response) read:0@45 read:0@45 "
             "close:ok@45 close:ok@45");
  assert_int_equal(cw_fake_peer_done(api), 2);
}

static int wrong_write_line;

static cw_result wrong_write(void *arg) {
  (void)arg;
  cw_socket *s;
  done("connect", cw_tcp_connect(loop, "cache", 6379, &s));
  cw_promise *w;
  wrong_write_line = __LINE__, w = cw_tcp_write(s, "PING\r\nPONG\r\n", 12);
  counted("write", w);
  done("close", cw_tcp_close(s));
  return cw_ok(NULL);
}

/* The write fails the test at its site, with the step's bytes and site and
 * what came, escaped, the first difference marked; the script stops there. */
static void unexpected_write_fails_with_a_diff(void **state) {
  (void)state;
  cw_fake_peer *cache = cw_fake_net_peer(h, "cache", 6379);
  cw_fake_peer_expect(cache, "PING\r\n", 6);
  int expect_at = LINE_OF(cw_fake_peer_expect(cache, "PING\r\nQUIT\r\n", 12));
  run(wrong_write);
  assert_rec("connect:ok@0 write:12@0 close:ok@0");
  char body[512];
  snprintf(body, sizeof body,
           "scripted peer cache:6379, connection 1: unexpected write: byte 1 of step 2 of 2 (expect of 12 bytes at "
           "%s:%d) differs\n"
           "  expected: \"PING\\r\\nQUIT\\r\\n\"\n"
           "  actual:   \"PONG\\r\\n\"\n"
           "              ^",
           __FILE__, expect_at);
  expect_failure(__FILE__, wrong_write_line, body);
  assert_int_equal(cw_fake_peer_done(cache), 0);
}

static cw_result chatty(void *arg) {
  (void)arg;
  cw_socket *s;
  done("connect", cw_tcp_connect(loop, "cache", 6379, &s));
  cw_promise *w;
  wrong_write_line = __LINE__, w = cw_tcp_write(s, "PING\r\n\x01", 7);
  counted("write", w);
  done("close", cw_tcp_close(s));
  return cw_ok(NULL);
}

static void write_after_the_script_ends_fails(void **state) {
  (void)state;
  cw_fake_peer *cache = cw_fake_net_peer(h, "cache", 6379);
  int end_at = LINE_OF(cw_fake_peer_expect(cache, "PING\r\n", 6));
  run(chatty);
  char body[512];
  snprintf(body, sizeof body,
           "scripted peer cache:6379, connection 1: unexpected write of 1 bytes after the script's 1 steps (ending "
           "at %s:%d)\n"
           "  expected: nothing\n"
           "  actual:   \"\\x01\"",
           __FILE__, end_at);
  expect_failure(__FILE__, wrong_write_line, body);
  assert_int_equal(cw_fake_peer_done(cache), 1);
}

/* With no step, the script ends where the peer was made. */
static void a_peer_without_a_script_takes_no_write(void **state) {
  (void)state;
  int end_at = LINE_OF(cw_fake_net_peer(h, "cache", 6379));
  run(chatty);
  char body[512];
  snprintf(body, sizeof body,
           "scripted peer cache:6379, connection 1: unexpected write of 7 bytes after the script's 0 steps (ending "
           "at %s:%d)\n"
           "  expected: nothing\n"
           "  actual:   \"PING\\r\\n\\x01\"",
           __FILE__, end_at);
  expect_failure(__FILE__, wrong_write_line, body);
}

static cw_result hang_up(void *arg) {
  (void)arg;
  cw_socket *s;
  done("connect", cw_tcp_connect(loop, "api", 80, &s));
  counted("write", cw_tcp_write(s, "GET", 3));
  done("close", cw_tcp_close(s));
  return cw_ok(NULL);
}

/* Plays a script of which the program writes 3 bytes; the line of its expect. */
static int unplayed_peer(void) {
  cw_fake_peer *api = cw_fake_net_peer(h, "api", 80);
  int expect_at = LINE_OF(cw_fake_peer_expect(api, request, sizeof request - 1));
  cw_fake_peer_send(api, 5, "HTTP/1.1 204\r\n\r\n", 16);
  run(hang_up);
  assert_rec("connect:ok@0 write:3@0 close:ok@0");
  return expect_at;
}

/* Teardown names the peer, the connection and the step left, at the step's site. */
static void teardown_reports_an_unplayed_script(void **state) {
  (void)state;
  int expect_at = unplayed_peer();
  free_harness();
  expect_failure(__FILE__, expect_at,
                 "scripted peer api:80, connection 1: script unplayed from step 1 of 2: expect "
                 "\"GET /health HTTP/1.1\\r\\nHost: api\\r\\n\\r\\n\" (3 of 35 bytes came)");
}

static const cw_harness_opts allow_unplayed = {.seed = CAPTURE_SEED, .allow = CW_ALLOW_UNPLAYED};

static void unplayed_scripts_may_be_allowed(void **state) {
  (void)state;
  unplayed_peer();
}

static cw_result reset_by_peer(void *arg) {
  (void)arg;
  cw_socket *s;
  done("connect", cw_tcp_connect(loop, "api", 80, &s));
  counted("write", cw_tcp_write(s, "hi", 2));
  read_text("read", s, 8);
  read_text("read", s, 8);
  done("close", cw_tcp_close(s));
  return cw_ok(NULL);
}

/* The peer's data arrives after the latency; its reset is at once. */
static void scripted_peer_resets_the_connection(void **state) {
  (void)state;
  cw_fake_net_latency(h, "api", 10);
  cw_fake_peer *api = cw_fake_net_peer(h, "api", 80);
  cw_fake_peer_send(api, 0, "hello", 5);
  cw_fake_peer_expect(api, "hi", 2);
  cw_fake_peer_reset(api, 15);
  run(reset_by_peer);
  assert_rec("connect:ok@20 write:2@20 read:\"hello\"@30 read:UV_ECONNRESET@45 close:ok@45");
  assert_int_equal(cw_fake_peer_done(api), 1);
}

/* ---- rules: latency and faults ---------------------------------------------------------- */

static cw_rule *rule(const char *op, cw_fault_kind fault, int code) {
  cw_rule *r = cw_fake_rule(h, &(cw_rule_spec){.op = op, .match = "db:*", .fault = {fault, code},
                                               .trigger = {CW_TRIGGER_ONCE, 0, 0, 0, 0}});
  assert_non_null(r);
  return r;
}

static cw_result short_ones(void *arg) {
  (void)arg;
  connect_pair();
  counted("write", cw_tcp_write(client, "abcdefgh", 8));
  counted("write", cw_tcp_write(client, "ijklmnop", 8));
  read_text("read", server, 32);
  read_text("read", server, 32);
  close_all();
  return cw_ok(NULL);
}

/* A short write sends only the count it fulfils with; a short read takes
 * fewer bytes than arrived; both at least 1 and seeded. */
static void short_writes_and_reads_move_fewer_bytes(void **state) {
  (void)state;
  cw_fake_net_latency(h, "db", 10);
  cw_rule *w = rule("net.write", CW_FAULT_SHORT, 0), *r = rule("net.read", CW_FAULT_SHORT, 0);
  run(short_ones);
  assert_rec("listen:ok@0 connect:ok@20 accept:ok@20 write:5@20 write:8@20 read:\"abcdeij\"@30 "
             "read:\"klmnop\"@30 close:ok@30 close:ok@30 close:ok@30");
  assert_int_equal(cw_rule_applied(w), 1);
  assert_int_equal(cw_rule_applied(r), 1);
}

static cw_result reset_fault(void *arg) {
  (void)arg;
  connect_pair();
  cw_detach(cw_spawn(loop, reset_reader, NULL));
  counted("write", cw_tcp_write(client, "x", 1));
  read_text("client-read", client, 8);
  close_all();
  return cw_ok(NULL);
}

/* A reset fault on a write resets the connection: both ends fail. */
static void reset_fault_resets_both_ends(void **state) {
  (void)state;
  cw_fake_net_latency(h, "db", 10);
  rule("net.write", CW_FAULT_RESET, 0);
  run(reset_fault);
  assert_rec("listen:ok@0 connect:ok@20 accept:ok@20 write:UV_ECONNRESET@20 "
             "server-read:UV_ECONNRESET@20 client-read:UV_ECONNRESET@20 close:ok@20 "
             "close:ok@20 close:ok@20");
}

static void close_client(void *arg) {
  (void)arg;
  rec_fmt("closing@%llu", now());
  cw_detach(cw_catch(cw_tcp_close(client), NULL, NULL));
}

static cw_result hung(void *arg) {
  (void)arg;
  connect_pair();
  cw_promise *first = cw_then(cw_tcp_write(client, "a", 1), noted, noted, "first");
  cw_set_timeout(loop, 30, close_client, NULL);
  counted("second", cw_tcp_write(client, "b", 1)); /* waits behind the first */
  cw_await(first);
  read_text("server-read", server, 8);
  done("close", cw_tcp_close(server));
  done("close", cw_tcp_close(listener));
  return cw_ok(NULL);
}

/* A hung write holds the writes after it until its socket closes; none of
 * their bytes went out: the server reads the end of the stream. */
static void hung_write_waits_for_the_close(void **state) {
  (void)state;
  cw_fake_net_latency(h, "db", 10);
  rule("net.write", CW_FAULT_HANG, 0);
  run(hung);
  assert_rec("listen:ok@0 connect:ok@20 accept:ok@20 closing@50 first:UV_ECANCELED@50 "
             "second:UV_ECANCELED@50 server-read:0@60 close:ok@60 close:ok@60");
}

static cw_result faulty_setup(void *arg) {
  (void)arg;
  done("listen", cw_tcp_listen(loop, "db", 80, 0, &listener));
  done("connect", cw_tcp_connect(loop, "db", 80, &client));
  done("connect", cw_tcp_connect(loop, "db", 80, &client));
  done("close", cw_tcp_close(client)); /* fails: still open */
  done("close", cw_tcp_close(client));
  cw_socket *accepted;
  done("accept", cw_tcp_accept(listener, &accepted));
  done("close", cw_tcp_close(accepted));
  done("close", cw_tcp_close(listener));
  return cw_ok(NULL);
}

/* An error fault completes with its code after the operation's time, with
 * no effect; latency adds to the link's. */
static void rules_fail_connects_and_closes(void **state) {
  (void)state;
  cw_fake_net_latency(h, "db", 10);
  rule("net.connect", CW_FAULT_ERROR, UV_ETIMEDOUT);
  rule("net.close", CW_FAULT_ERROR, UV_EBADF);
  cw_fake_rule(h, &(cw_rule_spec){.op = "net.connect", .latency = {CW_LATENCY_FIXED, 5, 0}});
  run(faulty_setup);
  assert_rec("listen:ok@0 connect:UV_ETIMEDOUT@25 connect:ok@50 close:UV_EBADF@50 close:ok@50 "
             "accept:ok@50 close:ok@50 close:ok@50");
}

static cw_result many_writes(void *arg) {
  (void)arg;
  connect_pair();
  cw_promise *writes[10];
  for (int i = 0; i < 10; i++)
    writes[i] = cw_tcp_write(client, &"0123456789"[i], 1);
  done("writes", cw_all(loop, writes, 10, NULL));
  done("shutdown", cw_tcp_shutdown(client));
  char buf[16] = {0};
  size_t len = 0;
  for (cw_result r; (r = cw_await(cw_tcp_read(server, buf + len, sizeof buf - 1 - len))).value;)
    len += (size_t)(uintptr_t)r.value;
  rec_fmt("%s", buf);
  close_all();
  return cw_ok(NULL);
}

static const cw_harness_opts shuffled = {.seed = CAPTURE_SEED, .shuffle = true};

/* Writes whose latencies differ, with deadlines shuffled, never reorder
 * the stream: each is handed over after those before it. */
static void streams_stay_in_order_when_shuffled(void **state) {
  (void)state;
  cw_fake_rule(h, &(cw_rule_spec){.op = "net.write", .latency = {CW_LATENCY_UNIFORM, 0, 5}});
  run(many_writes);
  assert_non_null(strstr(rec_seq(), " 0123456789 "));
}

/* ---- the controls' arguments ----------------------------------------------------------- */

static void bad_arguments_fail_naming_them(void **state) {
  (void)state;
  int at = LINE_OF(cw_fake_net_partition(h, "db", 4));
  expect_failure(__FILE__, at,
                 "cw_fake_net_partition: directions 4 is not CW_NET_INBOUND, CW_NET_OUTBOUND or CW_NET_BOTH");
  at = LINE_OF(cw_fake_net_latency(h, NULL, 1));
  expect_failure(__FILE__, at, "cw_fake_net_latency: host is NULL");
  at = LINE_OF(cw_fake_net_heal(h, NULL));
  expect_failure(__FILE__, at, "cw_fake_net_heal: host is NULL");
  at = LINE_OF(assert_int_equal(cw_fake_net_reset(h, NULL, 0), 0));
  expect_failure(__FILE__, at, "cw_fake_net_reset: host is NULL");
  at = LINE_OF(assert_null(cw_fake_net_peer(h, "db", 0)));
  expect_failure(__FILE__, at, "cw_fake_net_peer: port 0 is out of range (1 to 65535)");
  cw_fake_peer *db = cw_fake_net_peer(h, "db", 1);
  assert_non_null(db);
  at = LINE_OF(assert_null(cw_fake_net_peer(h, "db", 1)));
  expect_failure(__FILE__, at, "cw_fake_net_peer: db:1 has a listener already");
  at = LINE_OF(cw_fake_peer_expect(db, "", 0));
  expect_failure(__FILE__, at, "cw_fake_peer_expect: len is 0: expect at least one byte");
  at = LINE_OF(cw_fake_peer_send(db, 0, NULL, 1));
  expect_failure(__FILE__, at, "cw_fake_peer_send: data is NULL");
}

/* ---- loop free --------------------------------------------------------------------------- */

static cw_result left_open(void *arg) {
  (void)arg;
  connect_pair();
  cw_fake_net_partition(h, "db", CW_NET_INBOUND);
  counted("write", cw_tcp_write(client, "held", 4));
  cw_detach(cw_tcp_accept(listener, NULL));
  read_text("read", client, 8); /* never answered */
  return cw_ok(NULL);
}

static const cw_harness_opts allow_tasks = {.seed = CAPTURE_SEED, .allow = CW_ALLOW_TASKS};

/* The port closes the sockets still open and cancels what is pending on
 * them (a read, an accept); the bytes held by the partition are dropped;
 * a close that a rule hangs closes all the same; nothing leaks (the
 * sanitizer build checks). */
static void loop_free_with_sockets_open(void **state) {
  (void)state;
  cw_fake_net_latency(h, "db", 10);
  cw_fake_rule(h, &(cw_rule_spec){.op = "net.close", .fault = {CW_FAULT_HANG, 0}});
  assert_int_equal(cw_harness_run(h, spawn_all, (cw_task_fn[]){left_open, NULL}), 0);
  assert_rec("listen:ok@0 connect:ok@20 accept:ok@20 write:4@20");
  assert_int_equal(cw_io_in_flight(loop), 2);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    harness_test(connect_is_refused_after_the_round_trip),
    harness_test(echo_takes_the_latency_each_way),
    harness_test(listen_on_port_0_takes_ephemeral_ports),
    harness_test(bytes_arrive_in_order_and_reads_take_what_is_there),
    harness_test(shutdown_ends_the_stream_and_later_writes_fail),
    harness_test(close_cancels_pending_operations_in_the_close_phase),
    harness_test(reset_fails_both_ends_mid_read),
    harness_test(close_right_after_a_reset_cancels_the_read),
    harness_test(partitions_hold_data_and_connects_until_healed),
    harness_test(scripted_peer_plays_an_http_exchange),
    harness_test(unexpected_write_fails_with_a_diff),
    harness_test(write_after_the_script_ends_fails),
    harness_test(a_peer_without_a_script_takes_no_write),
    harness_test(teardown_reports_an_unplayed_script),
    harness_test_with(unplayed_scripts_may_be_allowed, &allow_unplayed),
    harness_test(scripted_peer_resets_the_connection),
    harness_test(short_writes_and_reads_move_fewer_bytes),
    harness_test(reset_fault_resets_both_ends),
    harness_test(hung_write_waits_for_the_close),
    harness_test(rules_fail_connects_and_closes),
    harness_test_with(streams_stay_in_order_when_shuffled, &shuffled),
    harness_test(bad_arguments_fail_naming_them),
    harness_test_with(loop_free_with_sockets_open, &allow_tasks),
  };
  return cmocka_run_group_tests_name("fakes: net", tests, NULL, NULL);
}
