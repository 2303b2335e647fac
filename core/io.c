/* The I/O ports: an operation's life from the call to its promise, the
 * libfiu check in front of the backend, completions as macrotasks, sockets,
 * the whole-file operations, and what is in flight when the loop is freed. */
#define FIU_ENABLE 1
#include "io_internal.h"

#include <fcntl.h>
#include <fiu.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct whole_file whole_file;

/* Path bytes an operation keeps inside itself; longer paths are malloc'ed. */
enum { REQ_STRINGS = 64 };

/* An operation from the call to its completion. */
typedef struct io_req {
  cw_io_op op; /* first: backends get &op */
  const cw_io_backend *backend;
  struct io_req *prev, *next; /* in flight on the loop; next links the spare ones */
  struct io_req *soon;        /* queued by cw_io_complete_soon, with its result */
  intptr_t soon_result;
  void *soon_value;
  bool cancelled;             /* at loop free */
  cw_promise *promise;        /* a core reference; NULL for a step of a whole-file operation */
  whole_file *whole;          /* the step's operation */
  void *out;                  /* the caller's cw_stat, cw_dirent *, cw_socket * or address text */
  size_t *out_len;            /* fs.readdir: the caller's count */
  char *strings;              /* path and path2: inline, or malloc'ed when longer */
  char inline_strings[REQ_STRINGS];
} io_req;

/* What delivers cw_io_complete_soon's results: see there. */
typedef struct soon_handles {
  uv_prepare_t prepare;
  uv_idle_t idle;
} soon_handles;

/* The buffer a whole-file read starts with, as Node's readFile when it
 * does not know the size: kept for the next read once the data moved to
 * a buffer of its own size; as many as read at a time, up to SPARE_BUFFERS. */
#define WHOLE_FIRST ((size_t)64 << 10)
#define SPARE_BUFFERS 16

/* A spare first buffer of a whole-file read, linked through its start. */
typedef struct spare_buffer {
  struct spare_buffer *next;
} spare_buffer;

/* The ports keep the memory of finished operations for the next ones: an
 * operation costs no allocation once the loop has run as many at a time. */
typedef struct io_ports {
  const cw_io_backend *backend;
  uint64_t last_id;
  size_t in_flight;
  io_req *spare_reqs;
  whole_file *spare_wholes;
  spare_buffer *spare_buffers;
  size_t n_spare_buffers;
  io_req *first;                 /* in flight */
  io_req *soon_head, *soon_tail; /* results waiting for the next poll phase */
  soon_handles *soon;            /* deliver them; NULL until first needed */
  pool sockets;
  bool closing;                  /* the loop is being freed */
} io_ports;

typedef enum { SOCKET_PENDING, SOCKET_OPEN, SOCKET_CLOSING } socket_state;

struct cw_socket {
  pool_obj hdr;
  cw_loop *loop;
  const cw_io_backend *backend;
  void *data; /* the backend's */
  char *host;
  int port;
  socket_state state; /* pending until its connect, listen or accept fulfils */
  bool reading, accepting;
};

/* ---- names ------------------------------------------------------------------- */

static const char *const op_names[CW_OP_COUNT][2] = {
  [CW_OP_FS_OPEN] = {"fs.open", "clockwork/fs/open"},
  [CW_OP_FS_READ] = {"fs.read", "clockwork/fs/read"},
  [CW_OP_FS_WRITE] = {"fs.write", "clockwork/fs/write"},
  [CW_OP_FS_CLOSE] = {"fs.close", "clockwork/fs/close"},
  [CW_OP_FS_STAT] = {"fs.stat", "clockwork/fs/stat"},
  [CW_OP_FS_UNLINK] = {"fs.unlink", "clockwork/fs/unlink"},
  [CW_OP_FS_RENAME] = {"fs.rename", "clockwork/fs/rename"},
  [CW_OP_FS_MKDIR] = {"fs.mkdir", "clockwork/fs/mkdir"},
  [CW_OP_FS_READDIR] = {"fs.readdir", "clockwork/fs/readdir"},
  [CW_OP_FS_FSYNC] = {"fs.fsync", "clockwork/fs/fsync"},
  [CW_OP_NET_CONNECT] = {"net.connect", "clockwork/net/connect"},
  [CW_OP_NET_LISTEN] = {"net.listen", "clockwork/net/listen"},
  [CW_OP_NET_ACCEPT] = {"net.accept", "clockwork/net/accept"},
  [CW_OP_NET_READ] = {"net.read", "clockwork/net/read"},
  [CW_OP_NET_WRITE] = {"net.write", "clockwork/net/write"},
  [CW_OP_NET_SHUTDOWN] = {"net.shutdown", "clockwork/net/shutdown"},
  [CW_OP_NET_CLOSE] = {"net.close", "clockwork/net/close"},
  [CW_OP_DNS_RESOLVE] = {"dns.resolve", "clockwork/dns/resolve"},
  [CW_OP_WORK_RUN] = {"work.run", "clockwork/work/run"},
};

const char *cw_op_name(cw_op_kind kind) { return (unsigned)kind < CW_OP_COUNT ? op_names[kind][0] : NULL; }

const char *cw_op_fiu_point(cw_op_kind kind) { return (unsigned)kind < CW_OP_COUNT ? op_names[kind][1] : NULL; }

/* ---- the ports of a loop ------------------------------------------------------ */

static io_ports *ports(cw_loop *loop) {
  if (!loop->io) {
    io_ports *io = xmalloc(sizeof *io);
    memset(io, 0, sizeof *io);
    io->backend = &io_real_backend;
    pool_init(&io->sockets, sizeof(cw_socket), &loop->blocks);
    loop->io = io;
  }
  return loop->io;
}

void cw_loop_set_io(cw_loop *loop, const cw_io_backend *backend) {
  if (!loop) {
    misuse(NULL, "cw_loop_set_io", NULL, 0, "the loop is NULL");
    return;
  }
  ports(loop)->backend = backend ? backend : &io_real_backend;
}

size_t cw_io_in_flight(cw_loop *loop) { return loop && loop->io ? loop->io->in_flight : 0; }

/* ---- sockets ------------------------------------------------------------------ */

static cw_socket *socket_new(cw_loop *loop, const cw_io_backend *backend, const char *host, int port) {
  cw_socket *s = pool_alloc(&loop->io->sockets);
  s->loop = loop;
  s->backend = backend;
  s->data = NULL;
  s->host = xstrdup(host);
  s->port = port;
  s->state = SOCKET_PENDING;
  s->reading = s->accepting = false;
  return s;
}

static void socket_free(cw_socket *s) {
  free(s->host);
  pool_free(&s->loop->io->sockets, s);
}

/* The open socket behind a handle; NULL after a misuse report. */
static cw_socket *socket_check(const cw_socket *handle, const char *function, const char *file, int line) {
  cw_socket *s = handle ? pool_object(handle) : NULL;
  if (!s || s->state != SOCKET_OPEN) {
    misuse(s ? s->loop : NULL, function, file, line,
           !handle ? "the socket is NULL"
           : !s    ? "stale socket handle: the socket was closed and freed"
                   : "the socket is closing: cw_tcp_close was called");
    return NULL;
  }
  return s;
}

void *cw_socket_data(const cw_socket *s) { return ((cw_socket *)pool_object(s))->data; }

void cw_socket_set_data(cw_socket *s, void *data) { ((cw_socket *)pool_object(s))->data = data; }

int cw_tcp_port_at(const cw_socket *handle, const char *file, int line) {
  cw_socket *s = socket_check(handle, "cw_tcp_port", file, line);
  return s ? s->port : -1;
}

/* ---- an operation's life ------------------------------------------------------ */

/* A new operation; path and path2 (may be NULL) are copied into it. */
static io_req *req_new(cw_loop *loop, cw_op_kind kind, const char *path, const char *path2, const char *file,
                       int line) {
  io_ports *io = ports(loop);
  size_t n1 = path ? strlen(path) + 1 : 0, n2 = path2 ? strlen(path2) + 1 : 0;
  io_req *r = io->spare_reqs;
  if (r)
    io->spare_reqs = r->next;
  else
    r = xmalloc(sizeof *r);
  memset(r, 0, offsetof(io_req, inline_strings));
  char *strings = r->strings = n1 + n2 <= REQ_STRINGS ? r->inline_strings : xmalloc(n1 + n2);
  r->op.path = path ? memcpy(strings, path, n1) : NULL;
  r->op.path2 = path2 ? memcpy(strings + n1, path2, n2) : NULL;
  r->op.kind = kind;
  r->op.loop = loop;
  r->op.file = file;
  r->op.line = line;
  r->op.fd = -1;
  r->op.offset = -1;
  r->backend = io->backend;
  return r;
}

static void req_free(io_ports *io, io_req *r) {
  if (r->strings != r->inline_strings)
    free(r->strings);
  r->next = io->spare_reqs;
  io->spare_reqs = r;
}

/* An operation on socket s. */
static io_req *socket_req(cw_socket *s, cw_op_kind kind, const char *file, int line) {
  io_req *r = req_new(s->loop, kind, NULL, NULL, file, line);
  r->backend = s->backend;
  r->op.socket = s;
  r->op.path = s->host;
  r->op.port = s->port;
  return r;
}

/* The code a failing point's failinfo gives: see io.h. */
static intptr_t fault_code(void) {
  intptr_t code = (intptr_t)fiu_failinfo();
  return code < 0 && code >= INT_MIN ? code : UV_EIO;
}

static void start(io_req *r) {
  io_ports *io = r->op.loop->io;
  r->op.id = ++io->last_id;
  r->next = io->first;
  if (io->first)
    io->first->prev = r;
  io->first = r;
  io->in_flight++;
  /* At loop free the cleanup (closing sockets and files) must reach the
   * backend. The point is not initialised here: until the program calls
   * fiu_init, as it must before enabling any, libfiu answers without a
   * lookup, which would otherwise be a fifth of a fake operation's cost. */
  if (!io->closing && fiu_fail(cw_op_fiu_point(r->op.kind)))
    cw_io_complete_soon(&r->op, fault_code(), NULL);
  else
    r->backend->submit(r->backend->ctx, &r->op);
}

/* Starts r for a promise: the caller's reference, and the port's. */
static cw_promise *start_promise(io_req *r) {
  cw_promise *p = promise_alloc(r->op.loop, r->op.file, r->op.line);
  p->refs++;
  r->promise = p;
  start(r);
  return promise_handle(p);
}

static int by_name(const void *a, const void *b) {
  return strcmp(((const cw_dirent *)a)->name, ((const cw_dirent *)b)->name);
}

/* A socket that a connect, listen or accept made: open and the caller's on
 * success; freed on failure. */
static void *socket_made(io_req *r, cw_socket *s, intptr_t result, bool to_caller) {
  if (result < 0) {
    socket_free(s);
    return NULL;
  }
  s->state = SOCKET_OPEN;
  void *handle = pool_handle(&s->loop->io->sockets, s);
  if (to_caller && r->out)
    *(cw_socket **)r->out = handle;
  return handle;
}

static void whole_step_done(whole_file *w, cw_op_kind kind, intptr_t result);

/* Hands the outputs of r over (to the caller unless the loop is being
 * freed, when they are released instead) and returns the fulfilment value. */
static void *hand_over(io_req *r, intptr_t result, void *value, bool to_caller) {
  cw_io_op *op = &r->op;
  cw_socket *s = op->socket;
  switch (op->kind) {
  case CW_OP_FS_OPEN:
  case CW_OP_FS_READ:
  case CW_OP_FS_WRITE:
  case CW_OP_NET_WRITE:
    return (void *)result;
  case CW_OP_NET_READ:
    if (s)
      s->reading = false;
    return (void *)result;
  case CW_OP_FS_STAT:
    if (result >= 0 && to_caller)
      *(cw_stat *)r->out = op->stat;
    return r->out;
  case CW_OP_FS_READDIR:
    if (result < 0)
      return NULL;
    if (!to_caller) {
      cw_fs_free_entries(op->entries, op->n_entries);
      return NULL;
    }
    if (op->n_entries)
      qsort(op->entries, op->n_entries, sizeof *op->entries, by_name);
    *(cw_dirent **)r->out = op->entries;
    *r->out_len = op->n_entries;
    return op->entries;
  case CW_OP_NET_CONNECT:
    return socket_made(r, s, result, to_caller);
  case CW_OP_NET_LISTEN:
    s->port = op->port;
    return socket_made(r, s, result, to_caller);
  case CW_OP_NET_ACCEPT:
    if (s)
      s->accepting = false;
    return socket_made(r, op->peer, result, to_caller);
  case CW_OP_NET_CLOSE:
    if (result < 0) {
      s->state = SOCKET_OPEN;
    } else {
      /* a read or accept that completed before the close, still waiting
       * for cw_io_complete_soon's delivery, must not touch s then */
      for (io_req *q = s->loop->io->soon_head; q; q = q->soon)
        if (q->op.socket == s)
          q->op.socket = NULL;
      socket_free(s);
    }
    return NULL;
  case CW_OP_DNS_RESOLVE:
    if (result >= 0 && to_caller) {
      op->addr[sizeof op->addr - 1] = '\0';
      memcpy(r->out, op->addr, sizeof op->addr);
    }
    return r->out;
  case CW_OP_WORK_RUN:
    return value;
  default:
    return NULL;
  }
}

/* Settles r's promise (or, at loop free, only drops it) or goes on with
 * the whole-file operation r is a step of; frees r. */
static void finish(io_req *r, intptr_t result, void *value) {
  bool to_caller = !r->op.loop->io->closing;
  void *fulfilled = hand_over(r, result, value, to_caller);
  cw_promise *p = r->promise;
  if (p && to_caller) {
    if (result < 0)
      promise_settle(p, CW_REJECTED, NULL, (int)result, r->op.file, r->op.line);
    else
      promise_settle(p, CW_FULFILLED, fulfilled, 0, r->op.file, r->op.line);
  }
  if (p)
    promise_unref(p);
  if (r->whole)
    whole_step_done(r->whole, r->op.kind, result);
  req_free(r->op.loop->io, r);
}

void cw_io_complete(cw_io_op *op, intptr_t result, void *value) {
  io_req *r = (io_req *)op;
  cw_loop *loop = op->loop;
  io_ports *io = loop->io;
  if (r->prev)
    r->prev->next = r->next;
  else
    io->first = r->next;
  if (r->next)
    r->next->prev = r->prev;
  io->in_flight--;
  if (io->closing) {
    finish(r, result, value);
    return;
  }
  const char *file = op->file;
  int line = op->line;
  cw_macrotask_begin_at(loop, op->kind == CW_OP_NET_CLOSE ? CW_PHASE_CLOSE : CW_PHASE_POLL, file, line);
  finish(r, result, value);
  cw_macrotask_end_at(loop, file, line);
}

/* Completes what cw_io_complete_soon queued so far, each in its own
 * macrotask; what those queue meanwhile waits for the next poll phase, as
 * libuv's callbacks queued during a callback do. */
static void deliver_soon(cw_loop *loop) {
  io_ports *io = loop->io;
  io_req *r = io->soon_head;
  io->soon_head = io->soon_tail = NULL;
  while (r) {
    io_req *next = r->soon;
    cw_io_complete(&r->op, r->soon_result, r->soon_value);
    r = next;
  }
}

/* Delivered just before the poll, where libuv's own completions come: the
 * same place between the timers and the check phase, without a system call
 * (an async handle costs a write and a read of its eventfd, and makes every
 * poll a real one). The idle handle, active while results wait, keeps the
 * loop alive and its poll from blocking until they are delivered; both are
 * stopped otherwise, so no teardown finds them active. */
static void on_prepare(uv_prepare_t *prepare) {
  cw_loop *loop = prepare->data;
  io_ports *io = loop->io;
  deliver_soon(loop);
  if (!io->soon_head) {
    uv_prepare_stop(&io->soon->prepare);
    uv_idle_stop(&io->soon->idle);
  }
}

static void on_idle(uv_idle_t *idle) { (void)idle; }

/* Closed last of the two: libuv runs close callbacks in order. */
static void free_soon_handles(uv_handle_t *idle) { free((char *)idle - offsetof(soon_handles, idle)); }

void cw_io_complete_soon(cw_io_op *op, intptr_t result, void *value) {
  io_req *r = (io_req *)op;
  io_ports *io = op->loop->io;
  r->soon_result = result;
  r->soon_value = value;
  r->soon = NULL;
  if (io->soon_tail)
    io->soon_tail->soon = r;
  else
    io->soon_head = r;
  io->soon_tail = r;
  if (io->closing)
    return; /* io_destroy delivers them */
  if (!io->soon) {
    io->soon = xmalloc(sizeof *io->soon);
    uv_prepare_init(op->loop->uv, &io->soon->prepare);
    uv_idle_init(op->loop->uv, &io->soon->idle);
    io->soon->prepare.data = op->loop;
  }
  uv_prepare_start(&io->soon->prepare, on_prepare);
  uv_idle_start(&io->soon->idle, on_idle);
}

/* ---- loop free ----------------------------------------------------------------- */

static void close_open_socket(void *obj, void *arg) {
  (void)arg;
  cw_socket *s = obj;
  if (s->state == SOCKET_OPEN) {
    s->state = SOCKET_CLOSING;
    start(socket_req(s, CW_OP_NET_CLOSE, __FILE__, __LINE__));
  }
}

/* Cancelling may complete other operations (a close those on its socket)
 * and start new ones (a whole-file operation's close): one at a time,
 * from the start of the list again. */
static void cancel_all(io_ports *io) {
  for (io_req *r = io->first; r;) {
    if (r->cancelled) {
      r = r->next;
      continue;
    }
    r->cancelled = true;
    r->backend->cancel(r->backend->ctx, &r->op);
    r = io->first;
  }
}

static void free_spares(io_ports *io);

void io_destroy(cw_loop *loop) {
  io_ports *io = loop->io;
  if (!io)
    return;
  io->closing = true;
  while (io->in_flight || io->sockets.live) {
    pool_each(&io->sockets, close_open_socket, NULL);
    cancel_all(io);
    if (io->soon_head) {
      deliver_soon(loop);
    } else if (io->in_flight && !uv_run(loop->uv, UV_RUN_ONCE) && io->in_flight && !io->soon_head) {
      fprintf(stderr, "clockwork: cw_loop_free: %zu I/O operations were never completed by their backend\n",
              io->in_flight);
      break;
    }
  }
  if (io->soon) {
    uv_close((uv_handle_t *)&io->soon->prepare, NULL);
    uv_close((uv_handle_t *)&io->soon->idle, free_soon_handles);
  }
  pool_destroy(&io->sockets);
  free_spares(io);
  free(io);
  loop->io = NULL;
}

/* ---- whole files ------------------------------------------------------------- */

/* Node's chunk sizes for readFile and writeFile. */
#define WHOLE_CHUNK ((size_t)512 << 10)

struct whole_file {
  cw_loop *loop;
  const cw_io_backend *backend;
  cw_promise *promise; /* a core reference */
  const char *file;
  int line;
  bool writing;
  int fd;
  int error;   /* the first one, reported once the file is closed */
  char *data;  /* reading: a first buffer, then malloc'ed; writing: the caller's */
  bool first;  /* data is a first buffer (WHOLE_FIRST) */
  size_t done; /* bytes read or written */
  size_t size; /* reading: data's capacity; writing: the bytes to write */
  char **data_out;
  size_t *len_out;
  whole_file *next_spare;
};

static whole_file *whole_alloc(cw_loop *loop) {
  io_ports *io = ports(loop);
  whole_file *w = io->spare_wholes;
  if (!w)
    return xmalloc(sizeof *w);
  io->spare_wholes = w->next_spare;
  return w;
}

static char *first_buffer_take(io_ports *io) {
  spare_buffer *b = io->spare_buffers;
  if (!b)
    return xmalloc(WHOLE_FIRST + 1);
  io->spare_buffers = b->next;
  io->n_spare_buffers--;
  return (char *)b;
}

static void first_buffer_give(io_ports *io, char *data) {
  if (io->n_spare_buffers == SPARE_BUFFERS) {
    free(data);
    return;
  }
  spare_buffer *b = (spare_buffer *)data;
  b->next = io->spare_buffers;
  io->spare_buffers = b;
  io->n_spare_buffers++;
}

/* Lets go of a read's buffer: back with the spares, or freed. */
static void whole_release_data(whole_file *w) {
  if (w->first)
    first_buffer_give(w->loop->io, w->data);
  else
    free(w->data);
  w->data = NULL;
  w->first = false;
}

/* Room for more of the file being read: a first buffer, then twice the
 * room each time. */
static void whole_grow(whole_file *w) {
  io_ports *io = w->loop->io;
  if (!w->size) {
    w->data = first_buffer_take(io);
    w->first = true;
    w->size = WHOLE_FIRST;
    return;
  }
  char *grown = w->first ? xmalloc(2 * w->size + 1) : realloc(w->data, 2 * w->size + 1);
  if (!grown)
    abort();
  if (w->first) {
    memcpy(grown, w->data, w->done);
    first_buffer_give(io, w->data);
    w->first = false;
  }
  w->data = grown;
  w->size *= 2;
}

static void free_spares(io_ports *io) {
  while (io->spare_reqs) {
    io_req *r = io->spare_reqs;
    io->spare_reqs = r->next;
    free(r);
  }
  while (io->spare_wholes) {
    whole_file *w = io->spare_wholes;
    io->spare_wholes = w->next_spare;
    free(w);
  }
  while (io->spare_buffers) {
    spare_buffer *b = io->spare_buffers;
    io->spare_buffers = b->next;
    free(b);
  }
  io->n_spare_buffers = 0;
}

static cw_promise *whole_new(cw_loop *loop, whole_file *w, const char *path, const char *file, int line) {
  w->loop = loop;
  w->backend = ports(loop)->backend;
  w->promise = promise_alloc(loop, file, line);
  w->promise->refs++;
  w->file = file;
  w->line = line;
  w->fd = -1;
  w->error = 0;
  w->first = false;
  w->done = 0;
  io_req *r = req_new(loop, CW_OP_FS_OPEN, path, NULL, file, line);
  r->whole = w;
  r->op.flags = (w->writing ? O_WRONLY | O_CREAT | O_TRUNC : O_RDONLY) | O_CLOEXEC;
  r->op.mode = 0666;
  start(r);
  return promise_handle(w->promise);
}

static void whole_step(whole_file *w, cw_op_kind kind) {
  io_req *r = req_new(w->loop, kind, NULL, NULL, w->file, w->line);
  r->backend = w->backend;
  r->whole = w;
  r->op.fd = w->fd;
  if (kind != CW_OP_FS_CLOSE) {
    if (!w->writing && w->done == w->size)
      whole_grow(w);
    size_t left = w->size - w->done;
    r->op.buf = w->data + w->done;
    r->op.len = left < WHOLE_CHUNK ? left : WHOLE_CHUNK;
    r->op.offset = (int64_t)w->done;
  }
  start(r);
}

static void whole_settle(whole_file *w) {
  bool to_caller = !w->loop->io->closing;
  if (to_caller && w->error) {
    promise_settle(w->promise, CW_REJECTED, NULL, w->error, w->file, w->line);
  } else if (to_caller) {
    void *value = NULL;
    if (!w->writing) {
      if (w->first) { /* the caller's buffer is the size of the file */
        char *data = memcpy(xmalloc(w->done + 1), w->data, w->done);
        whole_release_data(w);
        w->data = data;
      }
      w->data[w->done] = '\0';
      *w->data_out = w->data;
      *w->len_out = w->done;
      value = w->data;
    }
    promise_settle(w->promise, CW_FULFILLED, value, 0, w->file, w->line);
  }
  if (!w->writing && (w->error || !to_caller))
    whole_release_data(w);
  promise_unref(w->promise);
  io_ports *io = w->loop->io;
  w->next_spare = io->spare_wholes;
  io->spare_wholes = w;
}

/* open, then reads or writes until the end, then close; at loop free,
 * straight to the close. */
static void whole_step_done(whole_file *w, cw_op_kind kind, intptr_t result) {
  if (result < 0 && !w->error)
    w->error = (int)result;
  if (kind == CW_OP_FS_CLOSE || (kind == CW_OP_FS_OPEN && result < 0)) {
    whole_settle(w);
    return;
  }
  if (kind == CW_OP_FS_OPEN)
    w->fd = (int)result;
  else if (result > 0)
    w->done += (size_t)result;
  bool over = w->error || w->loop->io->closing || (w->writing ? w->done == w->size : result == 0);
  whole_step(w, over ? CW_OP_FS_CLOSE : w->writing ? CW_OP_FS_WRITE : CW_OP_FS_READ);
}

/* ---- the operations ------------------------------------------------------------ */

/* Reports a missing argument; false when one is. */
static bool given(cw_loop *loop, const void *arg, const char *name, const char *function, const char *file,
                  int line) {
  if (!arg)
    misuse(loop, function, file, line, "the %s is NULL", name);
  return arg != NULL;
}

/* A buffer of len bytes (NULL when len is 0) that one read or write can take. */
static bool buffer_ok(cw_loop *loop, const void *buf, size_t len, const char *function, const char *file,
                      int line) {
  if (len > INT_MAX)
    misuse(loop, function, file, line, "len is %zu: at most INT_MAX bytes at a time", len);
  return len <= INT_MAX && (len == 0 || given(loop, buf, "buffer", function, file, line));
}

static io_req *path_req(cw_loop *loop, cw_op_kind kind, const char *path, const char *function, const char *file,
                        int line) {
  if (!given(loop, loop, "loop", function, file, line) || !given(loop, path, "path", function, file, line))
    return NULL;
  return req_new(loop, kind, path, NULL, file, line);
}

static io_req *fd_req(cw_loop *loop, cw_op_kind kind, int fd, const char *function, const char *file, int line) {
  if (!given(loop, loop, "loop", function, file, line))
    return NULL;
  io_req *r = req_new(loop, kind, NULL, NULL, file, line);
  r->op.fd = fd;
  return r;
}

static cw_promise *start_rw(io_req *r, const void *buf, size_t len, int64_t offset) {
  r->op.buf = (void *)buf;
  r->op.len = len;
  r->op.offset = offset < 0 ? -1 : offset;
  return start_promise(r);
}

cw_promise *cw_fs_open_at(cw_loop *loop, const char *path, int flags, int mode, const char *file, int line) {
  io_req *r = path_req(loop, CW_OP_FS_OPEN, path, "cw_fs_open", file, line);
  if (!r)
    return NULL;
  r->op.flags = flags;
  r->op.mode = mode;
  return start_promise(r);
}

cw_promise *cw_fs_read_at(cw_loop *loop, int fd, void *buf, size_t len, int64_t offset, const char *file,
                          int line) {
  if (!buffer_ok(loop, buf, len, "cw_fs_read", file, line))
    return NULL;
  io_req *r = fd_req(loop, CW_OP_FS_READ, fd, "cw_fs_read", file, line);
  return r ? start_rw(r, buf, len, offset) : NULL;
}

cw_promise *cw_fs_write_at(cw_loop *loop, int fd, const void *buf, size_t len, int64_t offset, const char *file,
                           int line) {
  if (!buffer_ok(loop, buf, len, "cw_fs_write", file, line))
    return NULL;
  io_req *r = fd_req(loop, CW_OP_FS_WRITE, fd, "cw_fs_write", file, line);
  return r ? start_rw(r, buf, len, offset) : NULL;
}

cw_promise *cw_fs_close_at(cw_loop *loop, int fd, const char *file, int line) {
  io_req *r = fd_req(loop, CW_OP_FS_CLOSE, fd, "cw_fs_close", file, line);
  return r ? start_promise(r) : NULL;
}

cw_promise *cw_fs_fsync_at(cw_loop *loop, int fd, const char *file, int line) {
  io_req *r = fd_req(loop, CW_OP_FS_FSYNC, fd, "cw_fs_fsync", file, line);
  return r ? start_promise(r) : NULL;
}

cw_promise *cw_fs_stat_at(cw_loop *loop, const char *path, cw_stat *out, const char *file, int line) {
  if (!given(loop, out, "out pointer", "cw_fs_stat", file, line))
    return NULL;
  io_req *r = path_req(loop, CW_OP_FS_STAT, path, "cw_fs_stat", file, line);
  if (!r)
    return NULL;
  r->out = out;
  return start_promise(r);
}

cw_promise *cw_fs_unlink_at(cw_loop *loop, const char *path, const char *file, int line) {
  io_req *r = path_req(loop, CW_OP_FS_UNLINK, path, "cw_fs_unlink", file, line);
  return r ? start_promise(r) : NULL;
}

cw_promise *cw_fs_rename_at(cw_loop *loop, const char *from, const char *to, const char *file, int line) {
  if (!given(loop, loop, "loop", "cw_fs_rename", file, line) || !given(loop, from, "path", "cw_fs_rename", file, line) ||
      !given(loop, to, "new path", "cw_fs_rename", file, line))
    return NULL;
  return start_promise(req_new(loop, CW_OP_FS_RENAME, from, to, file, line));
}

cw_promise *cw_fs_mkdir_at(cw_loop *loop, const char *path, int mode, const char *file, int line) {
  io_req *r = path_req(loop, CW_OP_FS_MKDIR, path, "cw_fs_mkdir", file, line);
  if (!r)
    return NULL;
  r->op.mode = mode;
  return start_promise(r);
}

cw_promise *cw_fs_readdir_at(cw_loop *loop, const char *path, cw_dirent **entries_out, size_t *n_out,
                             const char *file, int line) {
  if (!given(loop, entries_out, "entries pointer", "cw_fs_readdir", file, line) ||
      !given(loop, n_out, "count pointer", "cw_fs_readdir", file, line))
    return NULL;
  io_req *r = path_req(loop, CW_OP_FS_READDIR, path, "cw_fs_readdir", file, line);
  if (!r)
    return NULL;
  r->out = entries_out;
  r->out_len = n_out;
  return start_promise(r);
}

void cw_fs_free_entries(cw_dirent *entries, size_t n) {
  for (size_t i = 0; i < n; i++)
    free(entries[i].name);
  free(entries);
}

cw_promise *cw_fs_read_file_at(cw_loop *loop, const char *path, char **data_out, size_t *len_out,
                               const char *file, int line) {
  const char *function = "cw_fs_read_file";
  if (!given(loop, loop, "loop", function, file, line) || !given(loop, path, "path", function, file, line) ||
      !given(loop, data_out, "data pointer", function, file, line) ||
      !given(loop, len_out, "length pointer", function, file, line))
    return NULL;
  whole_file *w = whole_alloc(loop);
  w->writing = false;
  w->data = NULL;
  w->size = 0;
  w->data_out = data_out;
  w->len_out = len_out;
  return whole_new(loop, w, path, file, line);
}

cw_promise *cw_fs_write_file_at(cw_loop *loop, const char *path, const void *data, size_t len, const char *file,
                                int line) {
  const char *function = "cw_fs_write_file";
  if (!given(loop, loop, "loop", function, file, line) || !given(loop, path, "path", function, file, line) ||
      (len && !given(loop, data, "data", function, file, line)))
    return NULL;
  whole_file *w = whole_alloc(loop);
  w->writing = true;
  w->data = (char *)data;
  w->size = len;
  w->data_out = NULL;
  w->len_out = NULL;
  return whole_new(loop, w, path, file, line);
}

/* ---- TCP ------------------------------------------------------------------------ */

static bool port_ok(cw_loop *loop, int port, const char *function, const char *file, int line) {
  if (port < 0 || port > 65535)
    misuse(loop, function, file, line, "port %d is out of range (0 to 65535)", port);
  return port >= 0 && port <= 65535;
}

/* A connect or listen: the new socket stays pending until the promise fulfils. */
static cw_promise *start_new_socket(cw_loop *loop, cw_op_kind kind, const char *host, int port, int backlog,
                                    cw_socket **out, const char *function, const char *file, int line) {
  if (!given(loop, loop, "loop", function, file, line) || !given(loop, host, "host", function, file, line) ||
      !port_ok(loop, port, function, file, line))
    return NULL;
  io_req *r = socket_req(socket_new(loop, ports(loop)->backend, host, port), kind, file, line);
  if (kind == CW_OP_NET_LISTEN)
    r->op.flags = backlog > 0 ? backlog : 128;
  r->out = out;
  return start_promise(r);
}

cw_promise *cw_tcp_connect_at(cw_loop *loop, const char *host, int port, cw_socket **out, const char *file,
                              int line) {
  return start_new_socket(loop, CW_OP_NET_CONNECT, host, port, 0, out, "cw_tcp_connect", file, line);
}

cw_promise *cw_tcp_listen_at(cw_loop *loop, const char *host, int port, int backlog, cw_socket **out,
                             const char *file, int line) {
  return start_new_socket(loop, CW_OP_NET_LISTEN, host, port, backlog, out, "cw_tcp_listen", file, line);
}

cw_promise *cw_tcp_accept_at(cw_socket *listener, cw_socket **out, const char *file, int line) {
  cw_socket *s = socket_check(listener, "cw_tcp_accept", file, line);
  if (!s)
    return NULL;
  if (s->accepting) {
    misuse(s->loop, "cw_tcp_accept", file, line, "an accept is already pending on this listener");
    return NULL;
  }
  s->accepting = true;
  io_req *r = socket_req(s, CW_OP_NET_ACCEPT, file, line);
  r->op.peer = socket_new(s->loop, s->backend, s->host, s->port);
  r->out = out;
  return start_promise(r);
}

cw_promise *cw_tcp_read_at(cw_socket *handle, void *buf, size_t len, const char *file, int line) {
  cw_socket *s = socket_check(handle, "cw_tcp_read", file, line);
  if (!s || !buffer_ok(s->loop, buf, len, "cw_tcp_read", file, line))
    return NULL;
  if (len == 0 || s->reading) {
    misuse(s->loop, "cw_tcp_read", file, line,
           len == 0 ? "len is 0: a read fulfils with 0 only at the end of the stream"
                    : "a read is already pending on this socket");
    return NULL;
  }
  s->reading = true;
  io_req *r = socket_req(s, CW_OP_NET_READ, file, line);
  r->op.buf = buf;
  r->op.len = len;
  return start_promise(r);
}

cw_promise *cw_tcp_write_at(cw_socket *handle, const void *buf, size_t len, const char *file, int line) {
  cw_socket *s = socket_check(handle, "cw_tcp_write", file, line);
  if (!s || !buffer_ok(s->loop, buf, len, "cw_tcp_write", file, line))
    return NULL;
  io_req *r = socket_req(s, CW_OP_NET_WRITE, file, line);
  r->op.buf = (void *)buf;
  r->op.len = len;
  return start_promise(r);
}

cw_promise *cw_tcp_shutdown_at(cw_socket *handle, const char *file, int line) {
  cw_socket *s = socket_check(handle, "cw_tcp_shutdown", file, line);
  return s ? start_promise(socket_req(s, CW_OP_NET_SHUTDOWN, file, line)) : NULL;
}

cw_promise *cw_tcp_close_at(cw_socket *handle, const char *file, int line) {
  cw_socket *s = socket_check(handle, "cw_tcp_close", file, line);
  if (!s)
    return NULL;
  s->state = SOCKET_CLOSING;
  return start_promise(socket_req(s, CW_OP_NET_CLOSE, file, line));
}

/* ---- DNS and work ---------------------------------------------------------------- */

cw_promise *cw_dns_resolve_at(cw_loop *loop, const char *host, char *out, const char *file, int line) {
  if (!given(loop, loop, "loop", "cw_dns_resolve", file, line) ||
      !given(loop, host, "host", "cw_dns_resolve", file, line) ||
      !given(loop, out, "out pointer", "cw_dns_resolve", file, line))
    return NULL;
  io_req *r = req_new(loop, CW_OP_DNS_RESOLVE, host, NULL, file, line);
  r->out = out;
  return start_promise(r);
}

cw_promise *cw_work_at(cw_loop *loop, void *(*fn)(void *arg), void *arg, const char *file, int line) {
  if (!given(loop, loop, "loop", "cw_work", file, line) || !given(loop, (const void *)fn, "function", "cw_work", file, line))
    return NULL;
  io_req *r = req_new(loop, CW_OP_WORK_RUN, NULL, NULL, file, line);
  r->op.work = fn;
  r->op.work_arg = arg;
  return start_promise(r);
}
