/* clockwork fakes: an in-memory file system, network and DNS behind the I/O
 * ports (io.h), with seeded latency and faults from rules, and fault sweeps.
 *
 * The harness installs the fakes on its loop (unless opts.real_io), so the
 * ports' operations run in memory: nothing touches the disk or the network.
 * Each operation completes at its virtual deadline (now plus the latency its
 * rules give, 0 by default) in the poll phase, as a macrotask of its own,
 * like a real completion: deadlines in order, ties in issue order (shuffled
 * with the seed when opts.shuffle is set). An operation takes effect when it
 * completes: two writes race as their deadlines say.
 *
 * Everything random (latencies, probabilities, short counts) comes from the
 * loop's seeded generator: the same seed gives the same run. Bad arguments
 * are reported as failures of the test at the caller's site, naming the
 * argument; the call then does nothing and returns an error (a negative
 * libuv code) or NULL. Like the core's, the functions that can fail are
 * macros over *_at variants that take that site (CW_HERE); variadic, so
 * that an argument may be a compound literal: &(cw_rule_spec){...}. */
#ifndef CLOCKWORK_FAKES_H
#define CLOCKWORK_FAKES_H

#include "harness.h"
#include "io.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- the file system -------------------------------------------------------- */

/* Absolute paths ("/etc/app.conf"): any other, the empty one too, fails
 * with UV_EINVAL. "." and ".." components and repeated slashes are
 * resolved; a trailing slash names a directory; names have at most 255
 * bytes (UV_ENAMETOOLONG). The tree starts empty but for "/".
 *
 * The operations behave as on Linux, with its codes: UV_ENOENT, UV_EEXIST,
 * UV_EISDIR (also unlinking a directory), UV_ENOTDIR, UV_ENOTEMPTY, UV_EBADF
 * (a descriptor not open, or not open for that direction), UV_EINVAL (a
 * directory renamed into itself, bad open flags), UV_EBUSY (renaming "/",
 * "." or ".."). Descriptors are the lowest free from 3, each with its
 * position; O_APPEND writes at the end even at an offset. Unlinking or
 * renaming over an open file keeps it for its descriptors. Modes are masked
 * by a umask of 022, whatever the process's; mtime_ms comes from the
 * harness's wall clock; a directory's size is 4096. A short fault on
 * fs.read or fs.write moves 1 to len - 1 bytes (seeded; a len of 1 moves).
 *
 * Durability: each file has what a crash leaves, its content as of its
 * last fsync (cw_fake_fs_put counts as one; writes through O_SYNC or
 * O_DSYNC are synced as made); names are durable at once. */

/* Creates or replaces the regular file path with the len bytes of data, its
 * parents made as needed, as if written and synced long ago. 0, or a code
 * that is also a failure of the test (UV_EISDIR, UV_ENOTDIR, UV_EINVAL). */
#define cw_fake_fs_put(...) cw_fake_fs_put_at(__VA_ARGS__, CW_HERE)
CW_EXTERN int cw_fake_fs_put_at(cw_harness *h, const char *path, const void *data, size_t len, const char *file,
                                int line);
/* Creates the directory path and its parents (mkdir -p); 0, or a code that
 * is also a failure of the test (UV_EEXIST for a file, UV_ENOTDIR). */
#define cw_fake_fs_mkdir(...) cw_fake_fs_mkdir_at(__VA_ARGS__, CW_HERE)
CW_EXTERN int cw_fake_fs_mkdir_at(cw_harness *h, const char *path, const char *file, int line);
/* The content of the regular file path and its size in *len_out (may be
 * NULL), NUL-terminated; NULL when path is not a regular file. Valid until
 * the file next changes. */
#define cw_fake_fs_get(...) cw_fake_fs_get_at(__VA_ARGS__, CW_HERE)
CW_EXTERN const char *cw_fake_fs_get_at(cw_harness *h, const char *path, size_t *len_out, const char *file, int line);
/* What path is: S_IFREG, S_IFDIR, or 0 when it does not exist. */
#define cw_fake_fs_type(...) cw_fake_fs_type_at(__VA_ARGS__, CW_HERE)
CW_EXTERN unsigned cw_fake_fs_type_at(cw_harness *h, const char *path, const char *file, int line);
/* A power cut: every file loses what was written to it since its last
 * fsync (a file never synced becomes empty); names (create, rename, unlink,
 * mkdir) are durable at once. Open descriptors stay open. */
#define cw_fake_fs_crash(...) cw_fake_fs_crash_at(__VA_ARGS__, CW_HERE)
CW_EXTERN void cw_fake_fs_crash_at(cw_harness *h, const char *file, int line);
/* Descriptors open on the fake file system (teardown reports them unless
 * CW_ALLOW_OPEN_FILES). */
#define cw_fake_fs_open_count(...) cw_fake_fs_open_count_at(__VA_ARGS__, CW_HERE)
CW_EXTERN size_t cw_fake_fs_open_count_at(cw_harness *h, const char *file, int line);

/* ---- the network ---------------------------------------------------------------- */

/* Listeners are found by host and port inside the process: a connect to a
 * host:port nobody listens on is refused (UV_ECONNREFUSED). Hosts are
 * strings ("db", "10.0.0.7"), matched exactly; the program's own side is
 * the host "local". A connect takes its host as it is: names are not looked
 * up in the DNS table (resolve them first, as on the real backend). A
 * listen on port 0 takes the next free port from 49152.
 *
 * Time. A connect completes after the link's round trip (its latency twice)
 * plus its rules' latency; refused then if nobody listens or the backlog is
 * full, else the connection exists on both sides and an accept takes it. A
 * write completes when it is handed over: after its rules' latency and the
 * writes before it; its bytes arrive the link's latency later, in order. A
 * read takes what arrived (up to len), or waits; 0 at the end of the
 * stream. A write after a shutdown fails with UV_EPIPE. A close completes
 * in the close phase and the other end reads 0 a latency later. Faults from
 * rules: SHORT moves fewer bytes on net.read and net.write; RESET resets the
 * connection of a read, write or shutdown; HANG waits for the close. */

/* One-way latency of everything between the program and host: connects
 * take it twice (there and back), each byte stream once each way. */
#define cw_fake_net_latency(...) cw_fake_net_latency_at(__VA_ARGS__, CW_HERE)
CW_EXTERN void cw_fake_net_latency_at(cw_harness *h, const char *host, uint64_t ms, const char *file, int line);
enum {
  CW_NET_INBOUND = 1,  /* to host: connects hang, the data sent waits */
  CW_NET_OUTBOUND = 2, /* from host: its data waits */
  CW_NET_BOTH = 3,
};
/* Cuts the link to host in the directions given (added to those cut);
 * data waits (as TCP retransmits) and arrives a latency after the heal;
 * connects wait, whichever direction is cut, and start over at the heal. */
#define cw_fake_net_partition(...) cw_fake_net_partition_at(__VA_ARGS__, CW_HERE)
CW_EXTERN void cw_fake_net_partition_at(cw_harness *h, const char *host, int directions, const char *file, int line);
/* Restores every direction of the link to host (nothing when none is cut). */
#define cw_fake_net_heal(...) cw_fake_net_heal_at(__VA_ARGS__, CW_HERE)
CW_EXTERN void cw_fake_net_heal_at(cw_harness *h, const char *host, const char *file, int line);
/* Resets the connections to host and port (0: any), at once on both ends:
 * pending and later reads, writes and shutdowns fail with UV_ECONNRESET.
 * Returns how many. */
#define cw_fake_net_reset(...) cw_fake_net_reset_at(__VA_ARGS__, CW_HERE)
CW_EXTERN size_t cw_fake_net_reset_at(cw_harness *h, const char *host, int port, const char *file, int line);

/* A scripted peer, in tokio-test's style: a listener at host:port that plays
 * its script on each connection it accepts, from the moment the connect
 * completes. Expected bytes are matched as they arrive; bytes that arrive
 * while a send, shutdown or reset waits its turn stay for the next expect.
 * A write of the program that is not what the script expects next, or
 * bytes after the script's end, fail the test at the write's site with
 * expected and actual side by side, the first difference marked, and the
 * site of the step (or of the script's end); the script stops there. Each
 * step keeps the site it was written at. */
typedef struct cw_fake_peer cw_fake_peer;
#define cw_fake_net_peer(...) cw_fake_net_peer_at(__VA_ARGS__, CW_HERE)
CW_EXTERN cw_fake_peer *cw_fake_net_peer_at(cw_harness *h, const char *host, int port, const char *file, int line);
/* The next len (> 0) bytes the program must write. */
#define cw_fake_peer_expect(...) cw_fake_peer_expect_at(__VA_ARGS__, CW_HERE)
CW_EXTERN void cw_fake_peer_expect_at(cw_fake_peer *p, const void *data, size_t len, const char *file, int line);
/* Sends len bytes after_ms after the previous step is done. */
#define cw_fake_peer_send(...) cw_fake_peer_send_at(__VA_ARGS__, CW_HERE)
CW_EXTERN void cw_fake_peer_send_at(cw_fake_peer *p, uint64_t after_ms, const void *data, size_t len,
                                    const char *file, int line);
/* Ends the peer's sending side (the program reads 0) after_ms after the previous step. */
#define cw_fake_peer_shutdown(...) cw_fake_peer_shutdown_at(__VA_ARGS__, CW_HERE)
CW_EXTERN void cw_fake_peer_shutdown_at(cw_fake_peer *p, uint64_t after_ms, const char *file, int line);
/* Resets the connection after_ms after the previous step (at once on both ends). */
#define cw_fake_peer_reset(...) cw_fake_peer_reset_at(__VA_ARGS__, CW_HERE)
CW_EXTERN void cw_fake_peer_reset_at(cw_fake_peer *p, uint64_t after_ms, const char *file, int line);
/* Connections whose script was played to its end. Teardown reports each
 * connection whose script was left unplayed, at the site of its next step
 * (unless CW_ALLOW_UNPLAYED). */
CW_EXTERN size_t cw_fake_peer_done(const cw_fake_peer *p);

/* ---- DNS -------------------------------------------------------------------------- */

/* name resolves to addr (an address as text, up to 45 bytes; replaces an
 * earlier entry); unknown names fail with UV_EAI_NONAME. The table is read
 * when a resolve completes. Latency and failures come from rules on
 * "dns.resolve" (subject: the name). 0 or UV_EINVAL. */
#define cw_fake_dns_add(...) cw_fake_dns_add_at(__VA_ARGS__, CW_HERE)
CW_EXTERN int cw_fake_dns_add_at(cw_harness *h, const char *name, const char *addr, const char *file, int line);

/* ---- rules: latency and faults ------------------------------------------------------- */

typedef enum {
  CW_LATENCY_NONE,
  CW_LATENCY_FIXED,       /* ms */
  CW_LATENCY_UNIFORM,     /* between ms and max_ms */
  CW_LATENCY_EXPONENTIAL, /* with mean ms */
} cw_latency_kind;
typedef struct cw_latency {
  cw_latency_kind kind;
  double ms, max_ms;
} cw_latency;

typedef enum {
  CW_FAULT_NONE,
  CW_FAULT_ERROR, /* the operation fails with code, with no effect (fs.close: the descriptor
                     is released all the same, as on Linux) */
  CW_FAULT_SHORT, /* a read or write moves fewer bytes (at least 1, seeded); others: as ERROR */
  CW_FAULT_HANG,  /* never completes until cancelled (its socket closed, the loop freed) */
  CW_FAULT_RESET, /* net: the connection is reset (UV_ECONNRESET); others: as ERROR */
} cw_fault_kind;
typedef struct cw_fault {
  cw_fault_kind kind;
  int code; /* ERROR: a negative libuv code; 0: UV_EIO */
} cw_fault;

typedef enum {
  CW_TRIGGER_ALWAYS,
  CW_TRIGGER_NTH,         /* the nth match only, from 1 */
  CW_TRIGGER_ONCE,        /* the first match only */
  CW_TRIGGER_PROBABILITY, /* each match with probability p (seeded) */
  CW_TRIGGER_WINDOW,      /* matches started from from_ms to before to_ms, virtual time */
} cw_trigger_kind;
typedef struct cw_trigger {
  cw_trigger_kind kind;
  uint64_t n;
  double p;
  uint64_t from_ms, to_ms;
} cw_trigger;

/* A rule matches an operation by its kind (op: a pattern over cw_op_name,
 * "fs.read", "fs.*", "*"; NULL: any) and its subject (match: a pattern over
 * the path for fs, "host:port" for net, the name for dns; NULL: any), with
 * fnmatch(3)'s syntax. When its trigger holds, the rule applies: its
 * latency adds to the operation's, and the first rule (in creation order)
 * with a fault gives the operation its fault. */
typedef struct cw_rule_spec {
  const char *op;
  const char *match;
  cw_latency latency;
  cw_fault fault;
  cw_trigger trigger;
} cw_rule_spec;

typedef struct cw_rule cw_rule;
/* Adds a rule (spec copied); NULL and a failure naming the bad field. The
 * harness frees its rules. */
#define cw_fake_rule(...) cw_fake_rule_at(__VA_ARGS__, CW_HERE)
CW_EXTERN cw_rule *cw_fake_rule_at(cw_harness *h, const cw_rule_spec *spec, const char *file, int line);
/* Removes r (it applies no more). */
#define cw_rule_remove(...) cw_rule_remove_at(__VA_ARGS__, CW_HERE)
CW_EXTERN void cw_rule_remove_at(cw_rule *r, const char *file, int line);
/* Operations r matched, and those it applied to (its trigger held). */
CW_EXTERN uint64_t cw_rule_matches(const cw_rule *r);
CW_EXTERN uint64_t cw_rule_applied(const cw_rule *r);

/* ---- fault sweeps --------------------------------------------------------------------- */

/* SQLite's anomaly testing for async code. The scenario runs once to count
 * the operations it makes (those matching ops), then once more for each k
 * and each fault, the k-th operation failing with it; with power_cut, once
 * more for each k, the fake file system losing what was not synced just
 * after the k-th operation completes, the run ending there. Each run has a
 * new harness with the same seed, runs in a child process (a crash is
 * reported, not fatal) and passes when: no crash, no failure of the
 * harness (unhandled rejection, floating promise, suspended task, leaked
 * timer or file), and invariant holds. A failing run is reported with k,
 * the operation, the fault and the command that replays it alone:
 * CW_SWEEP=k[:fault index|:cut] and CW_SEED. */
typedef struct cw_sweep_spec {
  void (*setup)(cw_harness *h, void *arg);    /* seeds the fakes; may be NULL */
  void (*scenario)(cw_harness *h, void *arg); /* runs the code under test, e.g. with cw_harness_run */
  /* Checked after each run (after the cut with power_cut): true when it
   * holds, else false with why written (why_size bytes). May be NULL. */
  bool (*invariant)(cw_harness *h, void *arg, char *why, size_t why_size);
  void *arg;
  const char *ops;         /* a pattern over cw_op_name; NULL: every operation */
  const cw_fault *faults;  /* NULL: one, CW_FAULT_ERROR with UV_EIO */
  size_t n_faults;
  bool power_cut;
  cw_harness_opts opts;    /* of every run's harness (fail is the sweep's) */
} cw_sweep_spec;

typedef struct cw_sweep_result {
  size_t operations; /* in the counting run */
  size_t runs;       /* faulty runs made */
  size_t failed;     /* of those, the failing ones */
} cw_sweep_result;

/* Runs the sweep, printing each failing run to stderr; 0 when every run
 * passed, CW_EMISUSE for a bad spec or CW_SWEEP (printed with the caller's
 * site), else the number of failing runs. out may be NULL. */
#define cw_fault_sweep(...) cw_fault_sweep_at(__VA_ARGS__, CW_HERE)
CW_EXTERN int cw_fault_sweep_at(const cw_sweep_spec *spec, cw_sweep_result *out, const char *file, int line);

#ifdef __cplusplus
}
#endif
#endif
