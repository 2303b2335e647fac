/* The in-memory network: links between the program (host "local") and the
 * other hosts, each with a one-way latency and partitions; listeners by
 * host and port; connections as two byte streams.
 *
 * Time. A connect takes the link's latency twice plus its rules' latency;
 * then the connection exists on both sides: queued on the listener's
 * backlog (or playing a scripted peer's script). A write is handed over
 * after its rules' latency, once the writes before it were: then it
 * completes and its bytes travel, arriving after the link's latency and
 * never before bytes sent earlier. A read (or accept) waits out its rules'
 * latency, then takes what has arrived or waits for it. Data to a cut
 * direction waits and arrives the link's latency after the heal.
 *
 * Every program socket holds an end or a listener (cw_socket_data). Ends
 * and connections live until the fakes are destroyed: a closed end only
 * drops what reaches it, so nothing dangles. net.close completes in the
 * close phase, from the close callback of a uv_idle_t closed at once. */
#include "net_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIRST_EPHEMERAL_PORT 49152

struct net_link {
  net_link *next;
  uint64_t latency; /* ns, each way */
  int cut;          /* CW_NET_INBOUND | CW_NET_OUTBOUND */
  char host[];
};

/* An operation from its start to its completion (op->backend_data). */
struct net_op {
  fake_event event; /* first */
  cw_io_op *op;
  fake_plan plan;
  net_op *next;     /* among its end's writes, or the connects a cut link holds */
  bool ready;       /* its rules' latency passed (net.close: its closing began) */
  uv_idle_t closer; /* net.close: completes in its close callback */
};

void *net_realloc(void *p, size_t size) {
  p = realloc(p, size);
  if (!p) {
    fprintf(stderr, "clockwork: out of memory in the fake network\n");
    abort();
  }
  return p;
}

static char *copy(const char *s) {
  size_t n = strlen(s) + 1;
  return memcpy(net_alloc(n), s, n);
}

fake_net *net_of(fakes *f) {
  if (!f->net) {
    f->net = net_alloc(sizeof *f->net);
    memset(f->net, 0, sizeof *f->net);
    f->net->next_port = FIRST_EPHEMERAL_PORT;
  }
  return f->net;
}

/* ---- links --------------------------------------------------------------------- */

static net_link *link_to(fake_net *net, const char *host, bool make) {
  for (net_link *l = net->links; l; l = l->next)
    if (strcmp(l->host, host) == 0)
      return l;
  if (!make)
    return NULL;
  size_t n = strlen(host) + 1;
  net_link *l = net_alloc(sizeof *l + n);
  memcpy(l->host, host, n);
  l->latency = 0;
  l->cut = 0;
  l->next = net->links;
  net->links = l;
  return l;
}

static uint64_t latency_to(fake_net *net, const char *host) {
  net_link *l = link_to(net, host, false);
  return l ? l->latency : 0;
}

static int cut_to(fake_net *net, const char *host) {
  net_link *l = link_to(net, host, false);
  return l ? l->cut : 0;
}

/* The direction of the link data to d travels in. */
static int toward(const end *d) { return d->at_host ? CW_NET_INBOUND : CW_NET_OUTBOUND; }

/* ---- listeners ------------------------------------------------------------------- */

listener *net_listener(fake_net *net, const char *host, int port) {
  for (listener *l = net->listeners; l; l = l->next)
    if (l->port == port && strcmp(l->host, host) == 0)
      return l;
  return NULL;
}

listener *net_listen(fake_net *net, const char *host, int port, cw_fake_peer *peer) {
  listener *l = net_alloc(sizeof *l);
  memset(l, 0, sizeof *l);
  l->kind = SOCK_LISTENER;
  l->host = copy(host);
  l->port = port;
  l->peer = peer;
  l->next = net->listeners;
  net->listeners = l;
  return l;
}

/* No connection finds l any more. */
static void listener_unlink(fake_net *net, listener *l) {
  for (listener **p = &net->listeners; *p; p = &(*p)->next)
    if (*p == l) {
      *p = l->next;
      return;
    }
}

static void listener_free(fake_net *net, listener *l) {
  listener_unlink(net, l);
  free(l->host);
  free(l);
}

/* The next free port on host from 49152, in turn; UV_EADDRINUSE when none is. */
static int ephemeral_port(fake_net *net, const char *host) {
  for (int tries = FIRST_EPHEMERAL_PORT; tries <= 65535; tries++) {
    int port = net->next_port;
    net->next_port = port == 65535 ? FIRST_EPHEMERAL_PORT : port + 1;
    if (!net_listener(net, host, port))
      return port;
  }
  return UV_EADDRINUSE;
}

static void unqueue(conn *c) {
  listener *l = c->backlog;
  for (conn **p = &l->queue, *prev = NULL; *p; prev = *p, p = &(*p)->queued)
    if (*p == c) {
      *p = c->queued;
      if (l->queue_tail == c)
        l->queue_tail = prev;
      break;
    }
  l->queued--;
  c->backlog = NULL;
  c->queued = NULL;
}

/* ---- connections --------------------------------------------------------------- */

static void pump(fakes *f, fake_event *e);

static void end_init(end *d, conn *c, end *other, bool at_host) {
  memset(d, 0, sizeof *d);
  d->kind = SOCK_END;
  d->c = c;
  d->other = other;
  d->at_host = at_host;
  d->pump.index = SIZE_MAX;
  d->step_event.index = SIZE_MAX;
}

static conn *conn_new(fake_net *net, const listener *l) {
  conn *c = net_alloc(sizeof *c);
  c->next = NULL;
  c->queued = NULL;
  c->backlog = NULL;
  c->host = copy(l->host);
  c->port = l->port;
  c->reset = false;
  end_init(&c->client, c, &c->server, false);
  end_init(&c->server, c, &c->client, true);
  if (net->conns_tail)
    net->conns_tail->next = c;
  else
    net->conns = c;
  net->conns_tail = c;
  return c;
}

/* What is on its way to d, and what it holds unread, is dropped. */
static void end_drop_incoming(fakes *f, end *d) {
  fakes_unschedule(f, &d->pump);
  for (segment *s = d->head, *next; s; s = next) {
    next = s->next;
    free(s);
  }
  d->head = d->tail = NULL;
  free(d->inbox);
  d->inbox = NULL;
  d->inbox_len = d->inbox_cap = 0;
}

static void append(end *d, const char *data, size_t len) {
  if (d->inbox_len + len > d->inbox_cap) {
    d->inbox_cap = d->inbox_cap * 2 > d->inbox_len + len ? d->inbox_cap * 2 : d->inbox_len + len + 256;
    d->inbox = net_realloc(d->inbox, d->inbox_cap);
  }
  memcpy(d->inbox + d->inbox_len, data, len);
  d->inbox_len += len;
}

void net_consume(end *d, size_t n) {
  memmove(d->inbox, d->inbox + n, d->inbox_len - n);
  d->inbox_len -= n;
}

void net_send(fakes *f, end *from, const void *data, size_t len, bool fin, const char *file, int line) {
  end *to = from->other;
  if (fin)
    from->shut = true;
  if (to->closed || to->c->reset)
    return;
  segment *s = net_alloc(sizeof *s + len);
  s->next = NULL;
  s->file = file;
  s->line = line;
  s->fin = fin;
  s->len = len;
  if (len)
    memcpy(s->data, data, len);
  /* the queue delivers from its head: never before what was sent earlier */
  s->due = fakes_now(f) + latency_to(f->net, to->c->host);
  if (to->tail)
    to->tail->next = s;
  else
    to->head = s;
  to->tail = s;
  if (!fakes_scheduled(&to->pump))
    fakes_schedule(f, &to->pump, to->head->due, pump);
}

static void try_read(fakes *f, end *d);

/* Delivers what is due to `to`, in order, unless the link is cut that way;
 * its reader (or script) then sees all of it at once. */
static void pump(fakes *f, fake_event *e) {
  end *to = OWNER(e, end, pump);
  if (cut_to(f->net, to->c->host) & toward(to))
    return; /* held: the heal sends it on */
  uint64_t now = fakes_now(f);
  bool data = false;
  while (to->head && to->head->due <= now) {
    segment *s = to->head;
    to->head = s->next;
    if (!to->head)
      to->tail = NULL;
    if (s->fin) {
      to->eof = true;
    } else {
      append(to, s->data, s->len);
      to->sent_file = s->file;
      to->sent_line = s->line;
      data = true;
    }
    free(s);
  }
  if (to->head)
    fakes_schedule(f, &to->pump, to->head->due, pump);
  if (!to->peer)
    try_read(f, to);
  else if (data)
    peer_received(f, to);
}

/* ---- operations ------------------------------------------------------------------ */

static end *end_of(const cw_io_op *op) { return cw_socket_data(op->socket); }

static void unlink_op(net_op **list, net_op *n) {
  for (net_op **p = list; *p; p = &(*p)->next)
    if (*p == n) {
      *p = n->next;
      return;
    }
}

/* Takes n off wherever it waits. */
static void detach(fakes *f, net_op *n) {
  cw_io_op *op = n->op;
  fakes_unschedule(f, &n->event);
  op->backend_data = NULL;
  switch (op->kind) {
  case CW_OP_NET_CONNECT: unlink_op(&f->net->waiting, n); break;
  case CW_OP_NET_ACCEPT: ((listener *)cw_socket_data(op->socket))->accept = NULL; break;
  case CW_OP_NET_READ: end_of(op)->read = NULL; break;
  case CW_OP_NET_WRITE:
  case CW_OP_NET_SHUTDOWN: unlink_op(&end_of(op)->writes, n); break;
  default: break; /* listen and close wait nowhere */
  }
}

/* Completes n with result: in the next poll phase, or at once (the close
 * phase, where net.close and what it cancels complete). */
static void finish(fakes *f, net_op *n, intptr_t result, bool at_once) {
  cw_io_op *op = n->op;
  detach(f, n);
  free(n);
  if (!at_once) {
    fakes_complete(f, op, result, NULL);
    return;
  }
  fakes_complete_now(f, op, result);
}

static void stream_due(fakes *f, fake_event *e);

/* n fails with UV_ECONNRESET at once, through the schedule: it stays
 * pending until then, so that a close made meanwhile (from a callback of
 * the same turn) still finds it and cancels it first, as the port expects. */
static void fail_reset(fakes *f, net_op *n) {
  fakes_unschedule(f, &n->event);
  fakes_schedule(f, &n->event, fakes_now(f), stream_due);
}

void net_reset_conn(fakes *f, conn *c) {
  if (c->reset)
    return;
  c->reset = true;
  if (c->backlog)
    unqueue(c);
  end *ends[] = {&c->client, &c->server};
  for (size_t i = 0; i < 2; i++) {
    end *d = ends[i];
    end_drop_incoming(f, d);
    fakes_unschedule(f, &d->step_event);
    if (d->read)
      fail_reset(f, d->read);
    for (net_op *n = d->writes; n; n = n->next)
      fail_reset(f, n);
  }
}

/* A count in [1, len) for a short read or write; len when it is 1. */
static size_t short_count(fakes *f, size_t len) {
  return len > 1 ? 1 + (size_t)(fakes_uniform(f) * (double)(len - 1)) : len;
}

static void try_read(fakes *f, end *d) {
  net_op *n = d->read;
  if (!n || !n->ready || (!d->inbox_len && !d->eof))
    return;
  cw_io_op *op = n->op;
  size_t count = d->inbox_len < op->len ? d->inbox_len : op->len;
  if (n->plan.fault.kind == CW_FAULT_SHORT)
    count = short_count(f, count);
  if (count) { /* else the end of the stream */
    memcpy(op->buf, d->inbox, count);
    net_consume(d, count);
  }
  finish(f, n, (intptr_t)count, false);
}

/* Hands over the writes and shutdowns whose time came, in order. */
static void flush_writes(fakes *f, end *d) {
  while (d->writes && d->writes->ready) {
    net_op *n = d->writes;
    cw_io_op *op = n->op;
    intptr_t result = 0;
    if (d->shut) {
      result = op->kind == CW_OP_NET_WRITE ? UV_EPIPE : UV_ENOTCONN;
    } else if (op->kind == CW_OP_NET_WRITE) {
      size_t len = n->plan.fault.kind == CW_FAULT_SHORT ? short_count(f, op->len) : op->len;
      net_send(f, d, op->buf, len, false, op->file, op->line);
      result = (intptr_t)len;
    } else {
      net_send(f, d, NULL, 0, true, op->file, op->line);
    }
    finish(f, n, result, false);
  }
}

static void try_accept(fakes *f, listener *l) {
  net_op *n = l->accept;
  if (!n || !n->ready || !l->queue)
    return;
  conn *c = l->queue;
  unqueue(c);
  cw_socket_set_data(n->op->peer, &c->server);
  finish(f, n, 0, false);
}

/* At n's deadline: true when its fault completes it. A reset fault resets
 * the connection of a read, write or shutdown (which fails n); other
 * faults, and a short one but on a read or write, fail n with their code. */
static bool faulted(fakes *f, net_op *n) {
  cw_fault fault = n->plan.fault;
  cw_op_kind kind = n->op->kind;
  bool moves_bytes = kind == CW_OP_NET_READ || kind == CW_OP_NET_WRITE;
  if (fault.kind == CW_FAULT_NONE || (fault.kind == CW_FAULT_SHORT && moves_bytes))
    return false;
  if (fault.kind == CW_FAULT_RESET && (moves_bytes || kind == CW_OP_NET_SHUTDOWN))
    net_reset_conn(f, end_of(n->op)->c);
  else
    finish(f, n, fault.code, false);
  return true;
}

static void connect_due(fakes *f, fake_event *e) {
  net_op *n = (net_op *)e;
  if (faulted(f, n))
    return;
  fake_net *net = f->net;
  cw_io_op *op = n->op;
  if (cut_to(net, op->path)) { /* held until the link heals */
    net_op **tail = &net->waiting;
    while (*tail)
      tail = &(*tail)->next;
    n->next = NULL;
    *tail = n;
    return;
  }
  listener *l = net_listener(net, op->path, op->port);
  if (!l || (!l->peer && l->queued >= l->backlog)) {
    finish(f, n, UV_ECONNREFUSED, false);
    return;
  }
  conn *c = conn_new(net, l);
  cw_socket_set_data(op->socket, &c->client);
  finish(f, n, 0, false);
  if (l->peer) {
    peer_start(f, l->peer, &c->server);
    return;
  }
  if (l->queue_tail)
    l->queue_tail->queued = c;
  else
    l->queue = c;
  l->queue_tail = c;
  l->queued++;
  c->backlog = l;
  try_accept(f, l);
}

static void listen_due(fakes *f, fake_event *e) {
  net_op *n = (net_op *)e;
  if (faulted(f, n))
    return;
  fake_net *net = f->net;
  cw_io_op *op = n->op;
  int port = op->port ? op->port : ephemeral_port(net, op->path);
  if (port < 0 || net_listener(net, op->path, port)) {
    finish(f, n, UV_EADDRINUSE, false);
    return;
  }
  listener *l = net_listen(net, op->path, port, NULL);
  l->backlog = (size_t)op->flags;
  op->port = port;
  cw_socket_set_data(op->socket, l);
  finish(f, n, 0, false);
}

static void accept_due(fakes *f, fake_event *e) {
  net_op *n = (net_op *)e;
  if (faulted(f, n))
    return;
  n->ready = true;
  try_accept(f, cw_socket_data(n->op->socket));
}

/* read, write and shutdown: at the end of their rules' latency, or of a reset */
static void stream_due(fakes *f, fake_event *e) {
  net_op *n = (net_op *)e;
  end *d = end_of(n->op);
  if (d->c->reset) {
    finish(f, n, UV_ECONNRESET, false);
    return;
  }
  if (faulted(f, n))
    return;
  n->ready = true;
  if (n->op->kind == CW_OP_NET_READ)
    try_read(f, d);
  else
    flush_writes(f, d);
}

/* ---- close ------------------------------------------------------------------------- */

/* The close phase: a closed end cancels its read and writes, its side of
 * the stream ends (the other end reads 0 after the latency), and what
 * reaches it from now on is dropped. */
static void end_close(fakes *f, end *d) {
  d->closed = true;
  end_drop_incoming(f, d);
  if (!d->shut && !d->c->reset)
    net_send(f, d, NULL, 0, true, NULL, 0);
  while (d->read || d->writes) /* completing runs the program: take them one by one */
    finish(f, d->read ? d->read : d->writes, UV_ECANCELED, true);
}

/* A closed listener cancels its accept and resets the connections it had
 * not accepted yet. */
static void listener_close(fakes *f, listener *l) {
  if (l->accept)
    finish(f, l->accept, UV_ECANCELED, true);
  while (l->queue)
    net_reset_conn(f, l->queue);
}

static void on_closer_closed(uv_handle_t *handle) {
  net_op *n = OWNER(handle, net_op, closer);
  fakes *f = handle->data;
  if (n->plan.fault.kind != CW_FAULT_NONE) { /* the socket stays open, untouched */
    finish(f, n, n->plan.fault.code, true);
    return;
  }
  void *state = cw_socket_data(n->op->socket);
  if (*(sock_kind *)state == SOCK_END) {
    end_close(f, state);
    finish(f, n, 0, true);
    return;
  }
  listener *l = state;
  listener_unlink(f->net, l);
  listener_close(f, l);
  finish(f, n, 0, true);
  listener_free(f->net, l);
}

static void start_close(fakes *f, net_op *n) {
  n->ready = true;
  uv_idle_init(cw_loop_uv(f->loop), &n->closer);
  n->closer.data = f;
  uv_close((uv_handle_t *)&n->closer, on_closer_closed);
}

static void close_due(fakes *f, fake_event *e) { start_close(f, (net_op *)e); }

/* ---- the backend's entry points ------------------------------------------------------ */

void net_submit(fakes *f, cw_io_op *op, fake_plan plan) {
  fake_net *net = net_of(f);
  net_op *n = net_alloc(sizeof *n);
  memset(n, 0, sizeof *n);
  n->event.index = SIZE_MAX;
  n->op = op;
  n->plan = plan;
  op->backend_data = n;
  uint64_t deadline = fakes_now(f) + plan.latency;
  fake_event_fn due = stream_due;
  switch (op->kind) {
  case CW_OP_NET_CONNECT:
    deadline += 2 * latency_to(net, op->path);
    due = connect_due;
    break;
  case CW_OP_NET_LISTEN: due = listen_due; break;
  case CW_OP_NET_ACCEPT:
    ((listener *)cw_socket_data(op->socket))->accept = n;
    due = accept_due;
    break;
  case CW_OP_NET_READ: end_of(op)->read = n; break;
  case CW_OP_NET_WRITE:
  case CW_OP_NET_SHUTDOWN: {
    net_op **tail = &end_of(op)->writes;
    while (*tail)
      tail = &(*tail)->next;
    *tail = n;
    break;
  }
  default: /* net.close */
    if (!plan.latency && plan.fault.kind != CW_FAULT_HANG) {
      start_close(f, n);
      return;
    }
    due = close_due;
    break;
  }
  if (plan.fault.kind != CW_FAULT_HANG)
    fakes_schedule(f, &n->event, deadline, due);
}

/* At loop free: operations end with UV_ECANCELED; a close still closes,
 * whatever its fault. */
void net_cancel(fakes *f, cw_io_op *op) {
  net_op *n = op->backend_data;
  if (!n)
    return;
  if (op->kind != CW_OP_NET_CLOSE) {
    finish(f, n, UV_ECANCELED, false);
    return;
  }
  n->plan.fault.kind = CW_FAULT_NONE;
  if (!n->ready) {
    fakes_unschedule(f, &n->event);
    start_close(f, n);
  }
}

void net_teardown(fakes *f) {
  if (!f->net || (f->h->opts.allow & CW_ALLOW_UNPLAYED))
    return;
  for (conn *c = f->net->conns; c; c = c->next)
    if (c->server.peer)
      peer_check(f, &c->server);
}

void net_destroy(fakes *f) {
  fake_net *net = f->net;
  if (!net)
    return;
  for (conn *c = net->conns, *next; c; c = next) {
    next = c->next;
    end_drop_incoming(f, &c->client);
    end_drop_incoming(f, &c->server);
    free(c->host);
    free(c);
  }
  while (net->listeners)
    listener_free(net, net->listeners);
  for (net_link *l = net->links, *next; l; l = next) {
    next = l->next;
    free(l);
  }
  peers_destroy(net);
  free(net);
  f->net = NULL;
}

/* ---- the test's controls ----------------------------------------------------------- */

/* The fakes of h when host is given; NULL after a failure at file:line. */
static fakes *controls(cw_harness *h, const char *host, const char *function, const char *file, int line) {
  fakes *f = fakes_of(h, function, file, line);
  if (f && !host) {
    cw_harness_fail_at(h, file, line, "%s: host is NULL", function);
    return NULL;
  }
  return f;
}

void cw_fake_net_latency_at(cw_harness *h, const char *host, uint64_t ms, const char *file, int line) {
  fakes *f = controls(h, host, "cw_fake_net_latency", file, line);
  if (f)
    link_to(net_of(f), host, true)->latency = ms * FAKE_MS;
}

void cw_fake_net_partition_at(cw_harness *h, const char *host, int directions, const char *file, int line) {
  fakes *f = controls(h, host, "cw_fake_net_partition", file, line);
  if (!f)
    return;
  if (directions < CW_NET_INBOUND || directions > CW_NET_BOTH) {
    cw_harness_fail_at(h, file, line,
                       "cw_fake_net_partition: directions %d is not CW_NET_INBOUND, CW_NET_OUTBOUND or CW_NET_BOTH",
                       directions);
    return;
  }
  link_to(net_of(f), host, true)->cut |= directions;
}

/* What waited in a direction that was cut arrives the latency after now,
 * or later if it was due later. */
static void release(fakes *f, end *d, int healed, uint64_t earliest) {
  if (!(toward(d) & healed) || !d->head)
    return;
  fakes_unschedule(f, &d->pump);
  for (segment *s = d->head; s; s = s->next)
    if (s->due < earliest)
      s->due = earliest;
  fakes_schedule(f, &d->pump, d->head->due, pump);
}

void cw_fake_net_heal_at(cw_harness *h, const char *host, const char *file, int line) {
  fakes *f = controls(h, host, "cw_fake_net_heal", file, line);
  fake_net *net = f ? net_of(f) : NULL;
  net_link *l = net ? link_to(net, host, false) : NULL;
  if (!l || !l->cut)
    return;
  int healed = l->cut;
  l->cut = 0;
  uint64_t now = fakes_now(f);
  for (conn *c = net->conns; c; c = c->next)
    if (strcmp(c->host, host) == 0) {
      release(f, &c->client, healed, now + l->latency);
      release(f, &c->server, healed, now + l->latency);
    }
  /* held connects start over */
  net_op *held = net->waiting, **keep = &net->waiting;
  net->waiting = NULL;
  for (net_op *n = held, *next; n; n = next) {
    next = n->next;
    n->next = NULL;
    if (strcmp(n->op->path, host) == 0) {
      fakes_schedule(f, &n->event, now + 2 * l->latency, connect_due);
    } else {
      *keep = n;
      keep = &n->next;
    }
  }
}

size_t cw_fake_net_reset_at(cw_harness *h, const char *host, int port, const char *file, int line) {
  fakes *f = controls(h, host, "cw_fake_net_reset", file, line);
  if (!f)
    return 0;
  size_t count = 0;
  for (conn *c = net_of(f)->conns; c; c = c->next)
    if (!c->reset && (!c->client.closed || (!c->server.closed && !c->server.peer)) && (!port || port == c->port) &&
        strcmp(c->host, host) == 0) {
      net_reset_conn(f, c);
      count++;
    }
  return count;
}
