/* The in-memory network, shared by net.c (links, listeners, connections,
 * the program's socket operations) and peer.c (scripted peers). */
#ifndef CLOCKWORK_FAKES_NET_INTERNAL_H
#define CLOCKWORK_FAKES_NET_INTERNAL_H

#include "fakes_internal.h"

#include <stddef.h>

typedef struct net_op net_op;
typedef struct segment segment;
typedef struct end end;
typedef struct conn conn;
typedef struct listener listener;
typedef struct net_link net_link;

/* What a program's socket holds (cw_socket_data): a connection's end or a listener. */
typedef enum { SOCK_END, SOCK_LISTENER } sock_kind;

/* Bytes, or the end of the stream, on their way to an end. */
struct segment {
  segment *next;
  uint64_t due;     /* ns: when it arrives unless the link is cut */
  const char *file; /* the write that sent it (NULL: a scripted peer) */
  int line;
  bool fin;
  size_t len;
  char data[];
};

/* One end of a connection: the program's or a scripted peer's. */
struct end {
  sock_kind kind; /* first: SOCK_END */
  conn *c;
  end *other;
  bool at_host;   /* at the connection's host (the accepting side), else at "local" */
  bool closed;    /* its socket was closed: what arrives is dropped */
  bool shut;      /* its sending side ended */
  bool eof;       /* the other side's end of stream arrived */
  char *inbox;    /* arrived and not read yet */
  size_t inbox_len, inbox_cap;
  segment *head, *tail; /* on the way here, in order */
  fake_event pump;      /* delivers what is due */
  const char *sent_file; /* the write whose bytes arrived last (NULL: a peer's) */
  int sent_line;
  /* the program's end: its socket's pending operations */
  net_op *read;
  net_op *writes; /* writes and shutdowns, in the order they were made */
  /* a scripted peer's end (peer.c) */
  cw_fake_peer *peer;
  size_t number;      /* of the connection, among the peer's, from 1 */
  size_t step;        /* the next step of the script */
  size_t matched;     /* bytes of an expect step matched so far */
  fake_event step_event;
  bool failed;        /* an unexpected write was reported: the script stopped */
};

struct conn {
  conn *next;          /* every connection, in creation order */
  conn *queued;        /* the next in the backlog */
  listener *backlog;   /* where it waits to be accepted, or NULL */
  char *host;          /* the listener's: the link's other side */
  int port;
  bool reset;
  end client, server;
};

struct listener {
  sock_kind kind; /* first: SOCK_LISTENER */
  listener *next;
  char *host;
  int port;
  cw_fake_peer *peer; /* a scripted peer's; NULL: the program's */
  conn *queue, *queue_tail;
  size_t queued, backlog;
  net_op *accept;
};

struct fake_net {
  net_link *links;
  listener *listeners;
  conn *conns, *conns_tail;
  net_op *waiting;     /* connects held by a cut link */
  cw_fake_peer *peers;
  int next_port;       /* ephemeral ports, from 49152 */
};

/* The struct that holds member, from a pointer to member. */
#define OWNER(ptr, type, member) ((type *)(void *)((char *)(ptr) - offsetof(type, member)))

/* ---- net.c --------------------------------------------------------------------- */

/* realloc, or abort with a message: the fakes cannot fail half-way. */
void *net_realloc(void *p, size_t size);
static inline void *net_alloc(size_t size) { return net_realloc(NULL, size); }
/* The network of f, made on first use. */
fake_net *net_of(fakes *f);
/* The listener at host:port, or NULL. */
listener *net_listener(fake_net *net, const char *host, int port);
/* A new listener at host:port (copied). */
listener *net_listen(fake_net *net, const char *host, int port, cw_fake_peer *peer);
/* from sends len bytes, or the end of its stream (fin), to its other end:
 * they arrive after the link's latency, after what was sent before. */
void net_send(fakes *f, end *from, const void *data, size_t len, bool fin, const char *file, int line);
/* Resets c: what is pending on both ends fails with UV_ECONNRESET, in the
 * next timers phase (still pending until then). */
void net_reset_conn(fakes *f, conn *c);
/* Drops the first n bytes of d's inbox. */
void net_consume(end *d, size_t n);

/* ---- peer.c ------------------------------------------------------------------- */

/* A connection to p's listener was made: its script starts on d. */
void peer_start(fakes *f, cw_fake_peer *p, end *d);
/* Bytes arrived at d (the last sent by the write at d->sent_file, d->sent_line). */
void peer_received(fakes *f, end *d);
/* Teardown's check of d's script (a failure at its next step's site); the peers' memory. */
void peer_check(fakes *f, const end *d);
void peers_destroy(fake_net *net);

#endif
