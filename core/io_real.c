/* The real I/O backend: files on libuv's fs requests, TCP on uv_tcp_t,
 * DNS on uv_getaddrinfo and work on uv_queue_work. libuv calls back in the
 * poll phase (fs, DNS and work through its async handle; TCP on its
 * sockets' events) and, for handles, in the close phase: each callback
 * completes its operation there. */
#include "io_internal.h"

#include <stdlib.h>

/* A request of an operation in flight: op->backend_data, NULL once done. */
typedef struct real_req {
  union {
    uv_req_t req;
    uv_fs_t fs;
    uv_work_t work;
    uv_getaddrinfo_t dns;
    uv_connect_t connect;
    uv_write_t write;
    uv_shutdown_t shutdown;
  } u; /* first: libuv hands back its address */
  cw_io_op *op;
  void *value; /* work.run: what the function returned */
} real_req;

static real_req *req_for(cw_io_op *op) {
  real_req *rr = xmalloc(sizeof *rr);
  rr->op = op;
  rr->value = NULL;
  op->backend_data = rr;
  return rr;
}

static void req_free(real_req *rr) {
  rr->op->backend_data = NULL;
  free(rr);
}

static void req_done(real_req *rr, intptr_t result, void *value) {
  cw_io_op *op = rr->op;
  req_free(rr);
  cw_io_complete(op, result, value);
}

/* One read or write: the port keeps len within INT_MAX. */
static uv_buf_t op_buf(const cw_io_op *op) { return uv_buf_init(op->buf, (unsigned)op->len); }

/* ---- files -------------------------------------------------------------------- */

static void stat_out(cw_stat *out, const uv_stat_t *st) {
  out->size = st->st_size;
  out->mode = st->st_mode;
  out->mtime_ms = (int64_t)st->st_mtim.tv_sec * 1000 + st->st_mtim.tv_nsec / 1000000;
}

/* Up to UV_EOF: libuv frees the last entry only on the call that returns it. */
static void entries_out(cw_io_op *op, uv_fs_t *fs) {
  size_t n = (size_t)fs->result;
  op->entries = n ? xmalloc(n * sizeof *op->entries) : NULL;
  op->n_entries = 0;
  uv_dirent_t d;
  while (uv_fs_scandir_next(fs, &d) == 0)
    op->entries[op->n_entries++] = (cw_dirent){xstrdup(d.name), d.type == UV_DIRENT_DIR};
}

static void fs_done(uv_fs_t *fs) {
  real_req *rr = (real_req *)fs;
  cw_io_op *op = rr->op;
  if (fs->result >= 0 && op->kind == CW_OP_FS_STAT)
    stat_out(&op->stat, &fs->statbuf);
  else if (fs->result >= 0 && op->kind == CW_OP_FS_READDIR)
    entries_out(op, fs);
  intptr_t result = (intptr_t)fs->result;
  uv_fs_req_cleanup(fs);
  req_done(rr, result, NULL);
}

static int fs_start(uv_loop_t *uv, cw_io_op *op) {
  real_req *rr = req_for(op);
  uv_fs_t *fs = &rr->u.fs;
  uv_buf_t buf = op_buf(op);
  int rc = UV_EINVAL;
  switch (op->kind) {
  case CW_OP_FS_OPEN: rc = uv_fs_open(uv, fs, op->path, op->flags, op->mode, fs_done); break;
  case CW_OP_FS_READ: rc = uv_fs_read(uv, fs, op->fd, &buf, 1, op->offset, fs_done); break;
  case CW_OP_FS_WRITE: rc = uv_fs_write(uv, fs, op->fd, &buf, 1, op->offset, fs_done); break;
  case CW_OP_FS_CLOSE: rc = uv_fs_close(uv, fs, op->fd, fs_done); break;
  case CW_OP_FS_STAT: rc = uv_fs_stat(uv, fs, op->path, fs_done); break;
  case CW_OP_FS_UNLINK: rc = uv_fs_unlink(uv, fs, op->path, fs_done); break;
  case CW_OP_FS_RENAME: rc = uv_fs_rename(uv, fs, op->path, op->path2, fs_done); break;
  case CW_OP_FS_MKDIR: rc = uv_fs_mkdir(uv, fs, op->path, op->mode, fs_done); break;
  case CW_OP_FS_READDIR: rc = uv_fs_scandir(uv, fs, op->path, 0, fs_done); break;
  case CW_OP_FS_FSYNC: rc = uv_fs_fsync(uv, fs, op->fd, fs_done); break;
  default: break;
  }
  if (rc < 0)
    req_free(rr);
  return rc;
}

/* ---- TCP ---------------------------------------------------------------------- */

/* A socket's state: cw_socket_data. */
typedef struct real_socket {
  uv_tcp_t tcp; /* first: libuv hands back its address */
  cw_io_op *read, *accept, *close; /* pending */
  int incoming; /* a listener: 1 when a connection waits for an accept, or the error of the last one */
} real_socket;

static real_socket *socket_attach(uv_loop_t *uv, cw_socket *s) {
  real_socket *rs = xmalloc(sizeof *rs);
  uv_tcp_init(uv, &rs->tcp);
  rs->read = rs->accept = rs->close = NULL;
  rs->incoming = 0;
  cw_socket_set_data(s, rs);
  return rs;
}

/* The close phase: what was pending on the socket is cancelled, then the
 * close (if it was one) completes. */
static void on_closed(uv_handle_t *handle) {
  real_socket *rs = (real_socket *)handle;
  if (rs->read)
    cw_io_complete(rs->read, UV_ECANCELED, NULL);
  if (rs->accept)
    cw_io_complete(rs->accept, UV_ECANCELED, NULL);
  if (rs->close)
    cw_io_complete(rs->close, 0, NULL);
  free(rs);
}

/* After a failed connect, listen or accept: the socket keeps nothing. */
static void socket_drop(cw_socket *s) {
  real_socket *rs = cw_socket_data(s);
  cw_socket_set_data(s, NULL);
  if (rs && !uv_is_closing((uv_handle_t *)&rs->tcp))
    uv_close((uv_handle_t *)&rs->tcp, on_closed);
}

static int parse_addr(const char *host, int port, struct sockaddr_storage *addr) {
  if (uv_ip4_addr(host, port, (struct sockaddr_in *)addr) == 0)
    return 0;
  return uv_ip6_addr(host, port, (struct sockaddr_in6 *)addr);
}

static void on_connect(uv_connect_t *req, int status) {
  real_req *rr = (real_req *)req;
  if (status < 0)
    socket_drop(rr->op->socket);
  req_done(rr, status, NULL);
}

static int tcp_connect(uv_loop_t *uv, cw_io_op *op) {
  struct sockaddr_storage addr;
  int rc = parse_addr(op->path, op->port, &addr);
  if (rc < 0)
    return rc;
  real_socket *rs = socket_attach(uv, op->socket);
  real_req *rr = req_for(op);
  rc = uv_tcp_connect(&rr->u.connect, &rs->tcp, (const struct sockaddr *)&addr, on_connect);
  if (rc < 0) {
    req_free(rr);
    socket_drop(op->socket);
  }
  return rc;
}

static int accept_peer(real_socket *server, cw_io_op *op, int status) {
  if (status < 0)
    return status;
  real_socket *peer = socket_attach(server->tcp.loop, op->peer);
  int rc = uv_accept((uv_stream_t *)&server->tcp, (uv_stream_t *)&peer->tcp);
  if (rc < 0)
    socket_drop(op->peer);
  return rc;
}

/* A connection arrived (or failed to): to the pending accept, or it waits
 * for the next one (libuv stops accepting meanwhile). */
static void on_connection(uv_stream_t *stream, int status) {
  real_socket *server = (real_socket *)stream;
  cw_io_op *op = server->accept;
  if (!op) {
    server->incoming = status < 0 ? status : 1;
    return;
  }
  server->accept = NULL;
  cw_io_complete(op, accept_peer(server, op, status), NULL);
}

static int bound_port(real_socket *rs, int *port) {
  struct sockaddr_storage addr;
  int len = sizeof addr;
  int rc = uv_tcp_getsockname(&rs->tcp, (struct sockaddr *)&addr, &len);
  if (rc == 0)
    *port = ntohs(addr.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&addr)->sin6_port
                                             : ((struct sockaddr_in *)&addr)->sin_port);
  return rc;
}

/* Listening is immediate in libuv: the result waits for the next poll phase. */
static int tcp_listen(uv_loop_t *uv, cw_io_op *op) {
  struct sockaddr_storage addr;
  int rc = parse_addr(op->path, op->port, &addr);
  if (rc < 0)
    return rc;
  real_socket *rs = socket_attach(uv, op->socket);
  rc = uv_tcp_bind(&rs->tcp, (const struct sockaddr *)&addr, 0);
  if (rc == 0)
    rc = uv_listen((uv_stream_t *)&rs->tcp, op->flags, on_connection);
  if (rc == 0)
    rc = bound_port(rs, &op->port);
  if (rc < 0) {
    socket_drop(op->socket);
    return rc;
  }
  cw_io_complete_soon(op, 0, NULL);
  return 0;
}

static int tcp_accept(cw_io_op *op) {
  real_socket *server = cw_socket_data(op->socket);
  if (!server->incoming) {
    server->accept = op;
    return 0;
  }
  int status = server->incoming;
  server->incoming = 0;
  cw_io_complete_soon(op, accept_peer(server, op, status), NULL);
  return 0;
}

static void on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf) {
  (void)suggested;
  *buf = op_buf(((real_socket *)handle)->read);
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf) {
  (void)buf;
  if (nread == 0) /* nothing after all */
    return;
  real_socket *rs = (real_socket *)stream;
  cw_io_op *op = rs->read;
  rs->read = NULL;
  uv_read_stop(stream);
  cw_io_complete(op, nread == UV_EOF ? 0 : nread, NULL);
}

static int tcp_read(cw_io_op *op) {
  real_socket *rs = cw_socket_data(op->socket);
  rs->read = op;
  int rc = uv_read_start((uv_stream_t *)&rs->tcp, on_alloc, on_read);
  if (rc < 0)
    rs->read = NULL;
  return rc;
}

static void on_written(uv_write_t *req, int status) {
  real_req *rr = (real_req *)req;
  req_done(rr, status < 0 ? status : (intptr_t)rr->op->len, NULL);
}

static void on_shutdown(uv_shutdown_t *req, int status) { req_done((real_req *)req, status, NULL); }

static int tcp_stream_req(cw_io_op *op) {
  uv_stream_t *stream = cw_socket_data(op->socket);
  real_req *rr = req_for(op);
  uv_buf_t buf = op_buf(op);
  int rc = op->kind == CW_OP_NET_WRITE ? uv_write(&rr->u.write, stream, &buf, 1, on_written)
                                       : uv_shutdown(&rr->u.shutdown, stream, on_shutdown);
  if (rc < 0)
    req_free(rr);
  return rc;
}

static int tcp_close(cw_io_op *op) {
  real_socket *rs = cw_socket_data(op->socket);
  rs->close = op;
  uv_close((uv_handle_t *)&rs->tcp, on_closed);
  return 0;
}

/* ---- DNS and work -------------------------------------------------------------- */

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res) {
  real_req *rr = (real_req *)req;
  char *out = rr->op->addr;
  if (status == 0)
    status = res->ai_family == AF_INET6
                 ? uv_ip6_name((struct sockaddr_in6 *)res->ai_addr, out, sizeof rr->op->addr)
                 : uv_ip4_name((struct sockaddr_in *)res->ai_addr, out, sizeof rr->op->addr);
  uv_freeaddrinfo(res);
  req_done(rr, status, NULL);
}

static int dns_resolve(uv_loop_t *uv, cw_io_op *op) {
  real_req *rr = req_for(op);
  struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
  int rc = uv_getaddrinfo(uv, &rr->u.dns, on_resolved, op->path, NULL, &hints);
  if (rc < 0)
    req_free(rr);
  return rc;
}

static void run_work(uv_work_t *req) {
  real_req *rr = (real_req *)req;
  rr->value = rr->op->work(rr->op->work_arg);
}

static void after_work(uv_work_t *req, int status) {
  real_req *rr = (real_req *)req;
  req_done(rr, status, rr->value);
}

/* ---- the backend ------------------------------------------------------------------ */

static void real_submit(void *ctx, cw_io_op *op) {
  (void)ctx;
  uv_loop_t *uv = cw_loop_uv(op->loop);
  int rc;
  switch (op->kind) {
  case CW_OP_NET_CONNECT: rc = tcp_connect(uv, op); break;
  case CW_OP_NET_LISTEN: rc = tcp_listen(uv, op); break;
  case CW_OP_NET_ACCEPT: rc = tcp_accept(op); break;
  case CW_OP_NET_READ: rc = tcp_read(op); break;
  case CW_OP_NET_WRITE:
  case CW_OP_NET_SHUTDOWN: rc = tcp_stream_req(op); break;
  case CW_OP_NET_CLOSE: rc = tcp_close(op); break;
  case CW_OP_DNS_RESOLVE: rc = dns_resolve(uv, op); break;
  case CW_OP_WORK_RUN: rc = uv_queue_work(uv, &req_for(op)->u.work, run_work, after_work); break;
  default: rc = fs_start(uv, op); break;
  }
  if (rc < 0) /* libuv refused at once: the port still expects an asynchronous completion */
    cw_io_complete_soon(op, rc, NULL);
}

/* libuv cancels the threadpool's requests not started yet (their callbacks
 * then run with UV_ECANCELED; it refuses other requests) and a connect by
 * closing its handle. An fs.close runs on: its descriptor must go. The
 * other socket operations end when the port closes their socket. */
static void real_cancel(void *ctx, cw_io_op *op) {
  (void)ctx;
  if (op->kind == CW_OP_NET_CONNECT)
    socket_drop(op->socket);
  else if (op->kind != CW_OP_FS_CLOSE && op->backend_data)
    uv_cancel(&((real_req *)op->backend_data)->u.req);
}

const cw_io_backend io_real_backend = {real_submit, real_cancel, NULL};
