#include "record.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

static char seq[16384];
static size_t seq_len;

/* Labels of rec_chain links: they must outlive the chain, so they live here. */
static char chain_labels[64][16];
static size_t chain_used;

void rec_fmt(const char *fmt, ...) {
  if (seq_len)
    seq[seq_len++] = ' ';
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(seq + seq_len, sizeof seq - seq_len, fmt, ap);
  va_end(ap);
  if (n < 0 || (size_t)n >= sizeof seq - seq_len)
    fail_msg("the recorded sequence outgrew %zu bytes", sizeof seq);
  seq_len += (size_t)n;
}

void rec(const char *label) { rec_fmt("%s", label); }

const char *rec_seq(void) { return seq; }

void rec_reset(void) {
  seq[0] = '\0';
  seq_len = 0;
  chain_used = 0;
}

void rec_fn(void *label) { rec(label); }

cw_result rec_pass(void *label, cw_result in) {
  rec(label);
  return in;
}

cw_result rec_observe(void *arg, cw_result in) {
  observer *o = arg;
  rec(o->label);
  o->calls++;
  o->in = in;
  return cw_ok(NULL);
}

void rec_chain(cw_loop *loop, const char *prefix, int n) {
  cw_promise *p = cw_resolved(loop, NULL);
  for (int i = 1; i <= n; i++) {
    if (chain_used == sizeof chain_labels / sizeof chain_labels[0])
      fail_msg("rec_chain: more than %zu links in one test", chain_used);
    char *label = chain_labels[chain_used++];
    snprintf(label, sizeof chain_labels[0], "%s%d", prefix, i);
    p = cw_then(p, rec_pass, NULL, label);
  }
  cw_detach(p);
}
