/* Scripted peers, in tokio-test's style: a listener whose every connection
 * plays the same script. Expect steps match what the program writes as it
 * arrives, byte by byte; bytes that arrive while a timed step (send,
 * shutdown, reset) waits stay buffered for the next expect, as TCP buffers
 * a pipelined request. A mismatch, or bytes after the script's end, fail
 * the test at the site of the write, with expected and actual side by side
 * and the site of the step; an unplayed script, at the site of its next step. */
#include "net_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { STEP_EXPECT, STEP_SEND, STEP_SHUTDOWN, STEP_RESET } step_kind;

typedef struct step {
  step_kind kind;
  uint64_t after_ms; /* timed steps: after the previous step is done */
  char *data;        /* expect and send */
  size_t len;
  const char *file; /* where the test wrote the step */
  int line;
} step;

struct cw_fake_peer {
  cw_fake_peer *next;
  fakes *f;
  listener *l;
  step *steps;
  size_t n, cap;
  size_t connections, done;
  const char *file; /* where the test made the peer */
  int line;
};

cw_fake_peer *cw_fake_net_peer_at(cw_harness *h, const char *host, int port, const char *file, int line) {
  fakes *f = fakes_of(h, "cw_fake_net_peer", file, line);
  if (!f)
    return NULL;
  if (!host) {
    cw_harness_fail_at(h, file, line, "cw_fake_net_peer: host is NULL");
    return NULL;
  }
  if (port < 1 || port > 65535) {
    cw_harness_fail_at(h, file, line, "cw_fake_net_peer: port %d is out of range (1 to 65535)", port);
    return NULL;
  }
  fake_net *net = net_of(f);
  if (net_listener(net, host, port)) {
    cw_harness_fail_at(h, file, line, "cw_fake_net_peer: %s:%d has a listener already", host, port);
    return NULL;
  }
  cw_fake_peer *p = net_alloc(sizeof *p);
  memset(p, 0, sizeof *p);
  p->f = f;
  p->file = file;
  p->line = line;
  p->l = net_listen(net, host, port, p);
  p->next = net->peers;
  net->peers = p;
  return p;
}

static void add_step(cw_fake_peer *p, step_kind kind, uint64_t after_ms, const void *data, size_t len,
                     const char *function, const char *file, int line) {
  if (!p) {
    fakes_misuse(function, file, line, "p is NULL");
    return;
  }
  if (kind == STEP_EXPECT && !len) {
    cw_harness_fail_at(p->f->h, file, line, "%s: len is 0: expect at least one byte", function);
    return;
  }
  if (!data && len) {
    cw_harness_fail_at(p->f->h, file, line, "%s: data is NULL", function);
    return;
  }
  if (p->n == p->cap) {
    p->cap = p->cap ? 2 * p->cap : 8;
    p->steps = net_realloc(p->steps, p->cap * sizeof *p->steps);
  }
  step *s = &p->steps[p->n++];
  s->kind = kind;
  s->after_ms = after_ms;
  s->len = len;
  s->data = len ? memcpy(net_alloc(len), data, len) : NULL;
  s->file = file;
  s->line = line;
}

void cw_fake_peer_expect_at(cw_fake_peer *p, const void *data, size_t len, const char *file, int line) {
  add_step(p, STEP_EXPECT, 0, data, len, "cw_fake_peer_expect", file, line);
}

void cw_fake_peer_send_at(cw_fake_peer *p, uint64_t after_ms, const void *data, size_t len, const char *file,
                          int line) {
  add_step(p, STEP_SEND, after_ms, data, len, "cw_fake_peer_send", file, line);
}

void cw_fake_peer_shutdown_at(cw_fake_peer *p, uint64_t after_ms, const char *file, int line) {
  add_step(p, STEP_SHUTDOWN, after_ms, NULL, 0, "cw_fake_peer_shutdown", file, line);
}

void cw_fake_peer_reset_at(cw_fake_peer *p, uint64_t after_ms, const char *file, int line) {
  add_step(p, STEP_RESET, after_ms, NULL, 0, "cw_fake_peer_reset", file, line);
}

size_t cw_fake_peer_done(const cw_fake_peer *p) { return p ? p->done : 0; }

/* ---- showing bytes -------------------------------------------------------------------- */

enum { SHOWN = 64, BEFORE = 24 }; /* bytes shown, and shown before a difference */

/* One byte as C writes it in a string literal; returns its width. */
static int escape(char out[5], unsigned char c) {
  switch (c) {
  case '\n': return snprintf(out, 5, "\\n");
  case '\r': return snprintf(out, 5, "\\r");
  case '\t': return snprintf(out, 5, "\\t");
  case '"': return snprintf(out, 5, "\\\"");
  case '\\': return snprintf(out, 5, "\\\\");
  default: return snprintf(out, 5, c >= 0x20 && c < 0x7f ? "%c" : "\\x%02x", c);
  }
}

/* data[from, len) quoted, up to SHOWN bytes, "..." where it is cut; the
 * column of byte mark (from <= mark) in *mark_col when mark_col is given. */
static void quote(char out[SHOWN * 4 + 16], const char *data, size_t len, size_t from, size_t mark, int *mark_col) {
  size_t to = len - from > SHOWN ? from + SHOWN : len;
  int n = sprintf(out, "%s\"", from ? "..." : "");
  for (size_t i = from; i < to; i++) {
    if (i == mark && mark_col)
      *mark_col = n;
    n += escape(out + n, (unsigned char)data[i]);
  }
  if (to == mark && mark_col)
    *mark_col = n;
  sprintf(out + n, "\"%s", to < len ? "..." : "");
}

static const char *step_name(step_kind kind) {
  static const char *const names[] = {"expect", "send", "shutdown", "reset"};
  return names[kind];
}

/* "send \"...\" after 5 ms" */
static void describe(char *out, size_t size, const step *s, size_t matched) {
  char shown[SHOWN * 4 + 16] = "";
  if (s->data)
    quote(shown, s->data, s->len, 0, 0, NULL);
  if (s->kind == STEP_EXPECT)
    snprintf(out, size, "expect %s (%zu of %zu bytes came)", shown, matched, s->len);
  else
    snprintf(out, size, "%s%s%s after %llu ms", step_name(s->kind), s->data ? " " : "", shown,
             (unsigned long long)s->after_ms);
}

/* ---- playing ---------------------------------------------------------------------------- */

static void played(end *d) {
  d->step++;
  d->matched = 0;
  if (d->step == d->peer->n)
    d->peer->done++;
}

/* The bytes in d's inbox differ from the expect step s at byte i of the inbox. */
static void report_mismatch(fakes *f, end *d, const step *s, size_t i) {
  cw_fake_peer *p = d->peer;
  size_t diff = d->matched + i, actual_len = d->matched + d->inbox_len;
  char *actual = net_alloc(actual_len);
  memcpy(actual, s->data, d->matched);
  memcpy(actual + d->matched, d->inbox, d->inbox_len);
  size_t from = diff > BEFORE ? diff - BEFORE : 0;
  char want[SHOWN * 4 + 16], got[SHOWN * 4 + 16];
  int col = 0;
  quote(want, s->data, s->len, from, diff, NULL);
  quote(got, actual, actual_len, from, diff, &col);
  fakes_fail(f, d->sent_file, d->sent_line,
             "scripted peer %s:%d, connection %zu: unexpected write: byte %zu of step %zu of %zu (expect of %zu "
             "bytes at %s:%d) differs\n  expected: %s\n  actual:   %s\n            %*s^",
             p->l->host, p->l->port, d->number, diff, d->step + 1, p->n, s->len, s->file, s->line, want, got, col,
             "");
  free(actual);
}

static void report_extra(fakes *f, end *d) {
  cw_fake_peer *p = d->peer;
  char got[SHOWN * 4 + 16];
  quote(got, d->inbox, d->inbox_len, 0, 0, NULL);
  /* where the script ends: its last step, or the peer when it has none */
  const step *last = p->n ? &p->steps[p->n - 1] : NULL;
  fakes_fail(f, d->sent_file, d->sent_line,
             "scripted peer %s:%d, connection %zu: unexpected write of %zu bytes after the script's %zu steps "
             "(ending at %s:%d)\n  expected: nothing\n  actual:   %s",
             p->l->host, p->l->port, d->number, d->inbox_len, p->n, last ? last->file : p->file,
             last ? last->line : p->line, got);
}

static void play(fakes *f, fake_event *e);

/* Plays d's script as far as what arrived and the time allow. */
static void advance(fakes *f, end *d) {
  cw_fake_peer *p = d->peer;
  while (!d->failed && !d->c->reset) {
    if (d->step == p->n) {
      if (d->inbox_len) {
        report_extra(f, d);
        d->failed = true;
      }
      return;
    }
    const step *s = &p->steps[d->step];
    if (s->kind != STEP_EXPECT) {
      if (!fakes_scheduled(&d->step_event))
        fakes_schedule(f, &d->step_event, fakes_now(f) + s->after_ms * FAKE_MS, play);
      return;
    }
    size_t want = s->len - d->matched, n = d->inbox_len < want ? d->inbox_len : want;
    if (!n)
      return;
    for (size_t i = 0; i < n; i++)
      if (d->inbox[i] != s->data[d->matched + i]) {
        report_mismatch(f, d, s, i);
        d->failed = true;
        return;
      }
    net_consume(d, n);
    d->matched += n;
    if (d->matched == s->len)
      played(d);
  }
}

/* A timed step's time came. */
static void play(fakes *f, fake_event *e) {
  end *d = OWNER(e, end, step_event);
  const step *s = &d->peer->steps[d->step];
  played(d);
  switch (s->kind) {
  case STEP_SEND: net_send(f, d, s->data, s->len, false, NULL, 0); break;
  case STEP_SHUTDOWN: net_send(f, d, NULL, 0, true, NULL, 0); break;
  default: net_reset_conn(f, d->c); break;
  }
  advance(f, d);
}

void peer_start(fakes *f, cw_fake_peer *p, end *d) {
  d->peer = p;
  d->number = ++p->connections;
  advance(f, d);
}

void peer_received(fakes *f, end *d) { advance(f, d); }

void peer_check(fakes *f, const end *d) {
  const cw_fake_peer *p = d->peer;
  if (d->failed || d->step == p->n)
    return;
  const step *s = &p->steps[d->step];
  char next[SHOWN * 4 + 64];
  describe(next, sizeof next, s, d->matched);
  fakes_fail(f, s->file, s->line, "scripted peer %s:%d, connection %zu: script unplayed from step %zu of %zu: %s",
             p->l->host, p->l->port, d->number, d->step + 1, p->n, next);
}

void peers_destroy(fake_net *net) {
  for (cw_fake_peer *p = net->peers, *next; p; p = next) {
    next = p->next;
    for (size_t i = 0; i < p->n; i++)
      free(p->steps[i].data);
    free(p->steps);
    free(p);
  }
}
