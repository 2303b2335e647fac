/* clockwork I/O ports: files, TCP, DNS and work on libuv's threadpool, as
 * promises.
 *
 * Every operation goes through the loop's I/O backend: the real one runs it
 * on libuv; the fakes (the harness installs them) run it in memory with
 * scripted latency and faults. Either way an operation completes
 * asynchronously, as a macrotask of its own in the poll phase (net.close in
 * the close phase, where libuv runs close callbacks): its promise settles
 * there and the queues drain before the next completion, as in Node.
 * Rejections are negative libuv codes (UV_ENOENT, UV_ECONNREFUSED...).
 *
 * Memory. Strings (paths, host names) are copied: the caller's may go once
 * the call returns. Buffers (what a read fills, what a write sends) and out
 * pointers stay the caller's and must stay valid until the promise settles;
 * out pointers are written only when it fulfils. What clockwork allocates
 * for the caller is the caller's: read_file's data (free it), readdir's
 * entries (cw_fs_free_entries), sockets (cw_tcp_close each one).
 *
 * Misuse (a NULL loop, path, buffer or required out pointer; a stale or
 * closed socket; a second read or accept pending on one socket) is reported
 * with the caller's site and the call returns NULL, starting nothing.
 *
 * Freeing the loop with operations in flight: the port cancels them (libuv
 * cancels fs, DNS and work requests the threadpool has not started), closes
 * the sockets still open, and runs the uv loop until the rest finish (an fs
 * operation or a work function already running on the threadpool;
 * read_file and write_file close their file). Their promises never settle
 * and their out pointers are not written; read buffers may still be
 * written until cw_loop_free returns. Fault points are not checked then.
 *
 * Faults. Before an operation reaches its backend, the port checks the
 * libfiu point named after it, "clockwork/<area>/<op>" (cw_op_fiu_point:
 * clockwork/fs/read, clockwork/net/connect, clockwork/dns/resolve,
 * clockwork/work/run). When the point fails, the operation rejects with the
 * code in the point's failinfo, a negative libuv code ((void *)(intptr_t)
 * UV_ENOSPC); a failinfo of NULL, 0, a positive value or one below INT_MIN
 * means UV_EIO. It rejects in the poll phase like any completion, and
 * nothing reaches the backend: the file is not read, the socket not
 * touched. read_file and write_file are made of fs.open, fs.read or
 * fs.write, and fs.close steps, each checking its own point. The same point
 * serves a test and an unchanged binary (a name ending in an asterisk,
 * libfiu's wildcard, covers a whole area):
 *   fiu_init(0); fiu_enable("clockwork/fs/read", 1, (void *)(intptr_t)UV_EIO, 0);
 *   fiu-run -x -c 'enable name=clockwork/fs/read,failinfo=-5' ./program
 * As libfiu requires, the program calls fiu_init before enabling a point
 * (fiu-run does it for an unchanged binary); clockwork does not, so that
 * until then the checks cost next to nothing.
 * These faults are deterministic: the code is always the one given; only
 * whether a call fails follows libfiu's trigger (always, once with
 * FIU_ONETIME, or enable_random's probability).
 *
 * libfiu's POSIX preload (fiu-run -x, points posix/io/...) is another layer,
 * under libuv: it makes the libc calls the real backend's libuv makes fail,
 * so both apply there. The port's point is checked first; an operation it
 * lets through may still fail in libc, and libuv reports the errno as the
 * operation's code. The preload takes errno from failinfo when given
 * (failinfo=13: UV_EACCES) and otherwise picks one at random among those the
 * function may return (EIO, EISDIR, EBADMSG...), so the code varies from run
 * to run; and a point fails every caller of that function in the process:
 * posix/io/rw/read also fails libuv's reads of its own wakeup descriptor,
 * on which libuv aborts (fs.read at an offset calls pread, which libuv uses
 * for nothing else). Use the port's points for a chosen code in a chosen
 * operation, the preload to shake unmodified code at the libc level. A fake
 * backend makes no libc calls: only the port's points reach it. */
#ifndef CLOCKWORK_IO_H
#define CLOCKWORK_IO_H

#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- the operations ------------------------------------------------------- */

typedef enum {
  CW_OP_FS_OPEN, CW_OP_FS_READ, CW_OP_FS_WRITE, CW_OP_FS_CLOSE, CW_OP_FS_STAT, CW_OP_FS_UNLINK,
  CW_OP_FS_RENAME, CW_OP_FS_MKDIR, CW_OP_FS_READDIR, CW_OP_FS_FSYNC,
  CW_OP_NET_CONNECT, CW_OP_NET_LISTEN, CW_OP_NET_ACCEPT, CW_OP_NET_READ, CW_OP_NET_WRITE,
  CW_OP_NET_SHUTDOWN, CW_OP_NET_CLOSE,
  CW_OP_DNS_RESOLVE,
  CW_OP_WORK_RUN,
  CW_OP_COUNT
} cw_op_kind;

/* "fs.read", "net.connect", "dns.resolve", "work.run": the names rules match;
 * NULL for a value out of range. */
CW_EXTERN const char *cw_op_name(cw_op_kind kind);
/* "clockwork/fs/read": the libfiu point the port checks; NULL out of range. */
CW_EXTERN const char *cw_op_fiu_point(cw_op_kind kind);

typedef struct cw_stat {
  uint64_t size;
  uint64_t mode;    /* st_mode: S_IFREG, S_IFDIR, permissions */
  int64_t mtime_ms; /* since the epoch */
} cw_stat;

typedef struct cw_dirent {
  char *name;
  bool is_dir;
} cw_dirent;

typedef struct cw_socket cw_socket; /* a TCP connection or listener */

/* ---- backends ------------------------------------------------------------- */

/* One operation in flight, as a backend sees it. The port fills the inputs;
 * the backend sets the outputs of its kind, then calls cw_io_complete. */
typedef struct cw_io_op {
  cw_op_kind kind;
  cw_loop *loop;
  uint64_t id;           /* issue order on the loop, from 1 */
  const char *file;      /* the caller's site */
  int line;
  /* inputs */
  const char *path;      /* fs: the path; net: the host (an accepted socket: the listener's); dns: the name */
  const char *path2;     /* fs.rename: the new path */
  int port;              /* net: the port (net.listen: 0 for any) */
  int fd;                /* fs ops on an open file */
  cw_socket *socket;     /* net: the socket (connect, listen: the new one, to attach state to) */
  void *buf;             /* fs.read, net.read: where to; fs.write, net.write: what (not written to) */
  size_t len;
  int64_t offset;        /* fs.read, fs.write: -1 for the current position */
  int flags, mode;       /* fs.open: O_* flags and mode; fs.mkdir: mode; net.listen: backlog in flags */
  void *(*work)(void *arg); /* work.run: what runs on the threadpool, and its argument */
  void *work_arg;
  /* outputs, set before cw_io_complete fulfils */
  cw_stat stat;          /* fs.stat */
  cw_dirent *entries;    /* fs.readdir: malloc'ed array of malloc'ed names, any order */
  size_t n_entries;
  cw_socket *peer;       /* net.accept: the new connection, made by the port, to attach state to */
  char addr[46];         /* dns.resolve: the first address, as text */
                         /* net.listen: port, set to the one bound */
  void *backend_data;    /* the backend's, untouched by the port */
} cw_io_op;

/* Finishes op, in a macrotask of its own that the port brackets: result < 0
 * rejects with it; otherwise the promise fulfils (with (void *)result for
 * fs.open, fs.read, fs.write, net.read, net.write; with value for work.run).
 * Call it on the loop's thread, from the poll phase (net.close: the close phase). */
CW_EXTERN void cw_io_complete(cw_io_op *op, intptr_t result, void *value);
/* The same, in the next poll phase: for a result known at once. */
CW_EXTERN void cw_io_complete_soon(cw_io_op *op, intptr_t result, void *value);

/* A backend: submit starts op and completes it exactly once, later. Sockets:
 * net.close completes the socket's pending operations first (UV_ECANCELED),
 * then itself; after a failed connect or accept the backend keeps nothing
 * on the socket. cancel hurries op when the loop is freed: it completes,
 * possibly at once, with UV_ECANCELED unless it finishes anyway (a backend
 * may ignore cancel for operations that end by themselves); a close still
 * closes (the port's cleanup at loop free is made of closes). */
typedef struct cw_io_backend {
  void (*submit)(void *ctx, cw_io_op *op);
  void (*cancel)(void *ctx, cw_io_op *op);
  void *ctx;
} cw_io_backend;
/* Installs backend (kept by pointer: it must outlive what it started) on the
 * loop; NULL restores the real one. Operations and sockets stay on the
 * backend they started on. */
CW_EXTERN void cw_loop_set_io(cw_loop *loop, const cw_io_backend *backend);
/* Operations started and not completed yet. */
CW_EXTERN size_t cw_io_in_flight(cw_loop *loop);
/* A backend's state on a socket. */
CW_EXTERN void *cw_socket_data(const cw_socket *s);
CW_EXTERN void cw_socket_set_data(cw_socket *s, void *data);

/* ---- files ------------------------------------------------------------------ */

#define cw_fs_open(loop, path, flags, mode) cw_fs_open_at(loop, path, flags, mode, CW_HERE)
#define cw_fs_read(loop, fd, buf, len, offset) cw_fs_read_at(loop, fd, buf, len, offset, CW_HERE)
#define cw_fs_write(loop, fd, buf, len, offset) cw_fs_write_at(loop, fd, buf, len, offset, CW_HERE)
#define cw_fs_close(loop, fd) cw_fs_close_at(loop, fd, CW_HERE)
#define cw_fs_stat(loop, path, out) cw_fs_stat_at(loop, path, out, CW_HERE)
#define cw_fs_unlink(loop, path) cw_fs_unlink_at(loop, path, CW_HERE)
#define cw_fs_rename(loop, from, to) cw_fs_rename_at(loop, from, to, CW_HERE)
#define cw_fs_mkdir(loop, path, mode) cw_fs_mkdir_at(loop, path, mode, CW_HERE)
#define cw_fs_readdir(loop, path, entries_out, n_out) cw_fs_readdir_at(loop, path, entries_out, n_out, CW_HERE)
#define cw_fs_fsync(loop, fd) cw_fs_fsync_at(loop, fd, CW_HERE)
#define cw_fs_read_file(loop, path, data_out, len_out) cw_fs_read_file_at(loop, path, data_out, len_out, CW_HERE)
#define cw_fs_write_file(loop, path, data, len) cw_fs_write_file_at(loop, path, data, len, CW_HERE)

/* open(2): fulfils with the fd, as (void *)(intptr_t)fd. */
CW_EXTERN cw_promise *cw_fs_open_at(cw_loop *loop, const char *path, int flags, int mode, const char *file,
                                    int line);
/* Up to len bytes at offset (-1: the current position); fulfils with the
 * count, as (void *)(intptr_t)n, 0 at the end of the file. */
CW_EXTERN cw_promise *cw_fs_read_at(cw_loop *loop, int fd, void *buf, size_t len, int64_t offset, const char *file,
                                    int line);
/* write(2) at offset (-1: the current position); fulfils with the count written. */
CW_EXTERN cw_promise *cw_fs_write_at(cw_loop *loop, int fd, const void *buf, size_t len, int64_t offset,
                                     const char *file, int line);
CW_EXTERN cw_promise *cw_fs_close_at(cw_loop *loop, int fd, const char *file, int line);
/* Fulfils with out, filled. */
CW_EXTERN cw_promise *cw_fs_stat_at(cw_loop *loop, const char *path, cw_stat *out, const char *file, int line);
CW_EXTERN cw_promise *cw_fs_unlink_at(cw_loop *loop, const char *path, const char *file, int line);
CW_EXTERN cw_promise *cw_fs_rename_at(cw_loop *loop, const char *from, const char *to, const char *file, int line);
CW_EXTERN cw_promise *cw_fs_mkdir_at(cw_loop *loop, const char *path, int mode, const char *file, int line);
/* The entries but "." and "..", sorted by name (strcmp): *entries_out, a
 * malloc'ed array of *n_out (NULL when empty); fulfils with the array. */
CW_EXTERN cw_promise *cw_fs_readdir_at(cw_loop *loop, const char *path, cw_dirent **entries_out, size_t *n_out,
                                       const char *file, int line);
/* Frees what cw_fs_readdir gave; NULL is fine. */
CW_EXTERN void cw_fs_free_entries(cw_dirent *entries, size_t n);
CW_EXTERN cw_promise *cw_fs_fsync_at(cw_loop *loop, int fd, const char *file, int line);
/* The whole file: *data_out, malloc'ed with a NUL after its *len_out bytes
 * (free() it); fulfils with the data. */
CW_EXTERN cw_promise *cw_fs_read_file_at(cw_loop *loop, const char *path, char **data_out, size_t *len_out,
                                         const char *file, int line);
/* Creates or truncates path (mode 0666 before the umask) and writes the len bytes of data. */
CW_EXTERN cw_promise *cw_fs_write_file_at(cw_loop *loop, const char *path, const void *data, size_t len,
                                          const char *file, int line);

/* ---- TCP ---------------------------------------------------------------------- */

#define cw_tcp_connect(loop, host, port, out) cw_tcp_connect_at(loop, host, port, out, CW_HERE)
#define cw_tcp_listen(loop, host, port, backlog, out) cw_tcp_listen_at(loop, host, port, backlog, out, CW_HERE)
#define cw_tcp_port(s) cw_tcp_port_at(s, CW_HERE)
#define cw_tcp_accept(listener, out) cw_tcp_accept_at(listener, out, CW_HERE)
#define cw_tcp_read(s, buf, len) cw_tcp_read_at(s, buf, len, CW_HERE)
#define cw_tcp_write(s, buf, len) cw_tcp_write_at(s, buf, len, CW_HERE)
#define cw_tcp_shutdown(s) cw_tcp_shutdown_at(s, CW_HERE)
#define cw_tcp_close(s) cw_tcp_close_at(s, CW_HERE)

/* A connection to host (the real backend takes IPv4 and IPv6 addresses, not
 * names: resolve them with cw_dns_resolve) and port; fulfils with the
 * socket once connected, also stored in *out (out may be NULL). */
CW_EXTERN cw_promise *cw_tcp_connect_at(cw_loop *loop, const char *host, int port, cw_socket **out,
                                        const char *file, int line);
/* A listener on host and port (0: any free port, see cw_tcp_port), with a
 * backlog (0: 128); fulfils with it once listening, also in *out (may be NULL). */
CW_EXTERN cw_promise *cw_tcp_listen_at(cw_loop *loop, const char *host, int port, int backlog, cw_socket **out,
                                       const char *file, int line);
/* The port a listener is bound to, a connection was made to, or (accepted)
 * its listener's; -1 on misuse. */
CW_EXTERN int cw_tcp_port_at(const cw_socket *s, const char *file, int line);
/* The next connection on listener; fulfils with it, also in *out (may be NULL). */
CW_EXTERN cw_promise *cw_tcp_accept_at(cw_socket *listener, cw_socket **out, const char *file, int line);
/* Up to len (> 0) bytes as they arrive; fulfils with the count, 0 at the
 * end of the stream. One read at a time per socket. */
CW_EXTERN cw_promise *cw_tcp_read_at(cw_socket *s, void *buf, size_t len, const char *file, int line);
/* All len bytes; fulfils with len once they are handed to the kernel. */
CW_EXTERN cw_promise *cw_tcp_write_at(cw_socket *s, const void *buf, size_t len, const char *file, int line);
/* Ends the sending side once the writes before it are done (the peer reads 0). */
CW_EXTERN cw_promise *cw_tcp_shutdown_at(cw_socket *s, const char *file, int line);
/* Closes s at once: its pending operations reject with UV_ECANCELED, then
 * the close fulfils (in the close phase) and s is freed; s is unusable from
 * this call on. A failed close (a fault) leaves s open. */
CW_EXTERN cw_promise *cw_tcp_close_at(cw_socket *s, const char *file, int line);

/* ---- DNS and work ----------------------------------------------------------------- */

#define cw_dns_resolve(loop, host, out) cw_dns_resolve_at(loop, host, out, CW_HERE)
#define cw_work(loop, fn, arg) cw_work_at(loop, fn, arg, CW_HERE)

/* The first address getaddrinfo gives for host, as text in out (at least
 * 46 bytes: INET6_ADDRSTRLEN); fulfils with out. */
CW_EXTERN cw_promise *cw_dns_resolve_at(cw_loop *loop, const char *host, char *out, const char *file, int line);
/* Runs fn(arg) on libuv's threadpool; fulfils with what it returns. fn must
 * not touch the loop. */
CW_EXTERN cw_promise *cw_work_at(cw_loop *loop, void *(*fn)(void *arg), void *arg, const char *file, int line);

#ifdef __cplusplus
}
#endif
#endif
