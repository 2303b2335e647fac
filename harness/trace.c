/* Ordering traces: what ran, at which virtual time, in which phase and
 * macrotask; the assertions on them, and their export as JSON lines, with
 * the fakes' operations among the labels when the trace goes to CW_TRACE. */
#include "fakes_internal.h"
#include "ops_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Labels are copied into blocks that never move, so entries point into them. */
enum { LABEL_BLOCK = 4096 };
/* A failure lists at most ROWS_SHOWN rows, starting ROWS_BEFORE rows before
 * the first one it is about, so that the message stays readable. */
enum { ROWS_SHOWN = 40, ROWS_BEFORE = 10 };
#define NO_ROW SIZE_MAX

typedef struct label_block {
  struct label_block *next;
  size_t used, size;
  char text[];
} label_block;

/* A fake operation, recorded as it completes. */
typedef struct op_record {
  cw_op_kind kind;
  const char *subject; /* in the label blocks */
  uint64_t start_ns, end_ns;
  intptr_t result;
  size_t labels_before; /* entries recorded before it completed: its place among them */
} op_record;

/* An operation in flight: when it started, and its subject then (an fs
 * operation on a descriptor has none once it is closed). op NULL: a free slot. */
typedef struct op_start {
  const cw_io_op *op;
  uint64_t start_ns;
  const char *subject; /* in the label blocks */
} op_start;

struct trace {
  cw_trace_entry *entries;
  size_t len, cap;
  label_block *labels; /* newest first */
  /* Op records are kept only for CW_TRACE: a million operations would
   * otherwise cost a test tens of megabytes for nothing. */
  bool keeps_ops;
  bool ops_failed; /* out of memory reported once */
  op_record *ops;  /* in completion order */
  size_t ops_len, ops_cap;
  op_start *flight; /* open addressing by op, linear probing; a power of 2 slots */
  size_t flight_len, flight_cap;
};

/* The trace of no harness: empty. */
static const trace no_trace;

static const trace *trace_of(const cw_harness *h) { return h && h->trace ? h->trace : &no_trace; }

bool trace_init(cw_harness *h) {
  if (!(h->trace = calloc(1, sizeof *h->trace)))
    return false;
  const char *path = getenv("CW_TRACE");
  h->trace->keeps_ops = path && *path;
  return true;
}

static void free_labels(trace *t) {
  while (t->labels) {
    label_block *next = t->labels->next;
    free(t->labels);
    t->labels = next;
  }
}

void trace_destroy(cw_harness *h) {
  probes_release(h);
  if (!h->trace)
    return;
  free_labels(h->trace);
  free(h->trace->entries);
  free(h->trace->ops);
  free(h->trace->flight);
  free(h->trace);
  h->trace = NULL;
}

static void fail(cw_harness *h, const char *file, int line, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void fail(cw_harness *h, const char *file, int line, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  harness_failv(h, file, line, fmt, ap);
  va_end(ap);
}

static const char *copy_label(trace *t, const char *label) {
  size_t n = strlen(label) + 1;
  label_block *b = t->labels;
  if (!b || b->size - b->used < n) {
    size_t size = n > LABEL_BLOCK ? n : LABEL_BLOCK;
    if (!(b = malloc(sizeof *b + size)))
      return NULL;
    b->next = t->labels;
    b->used = 0;
    b->size = size;
    t->labels = b;
  }
  char *copy = memcpy(b->text + b->used, label, n);
  b->used += n;
  return copy;
}

static bool append(trace *t, const char *label, cw_trace_entry e) {
  if (t->len == t->cap) {
    size_t cap = t->cap ? 2 * t->cap : 64;
    cw_trace_entry *grown = realloc(t->entries, cap * sizeof *grown);
    if (!grown)
      return false;
    t->entries = grown;
    t->cap = cap;
  }
  if (!(e.label = copy_label(t, label)))
    return false;
  t->entries[t->len++] = e;
  return true;
}

void cw_trace_at(cw_loop *loop, const char *label, const char *file, int line) {
  cw_harness *h = harness_current;
  if (!h)
    return;
  if (!label) {
    fail(h, file, line, "cw_trace: the label is NULL");
    return;
  }
  if (loop != h->loop) {
    fail(h, file, line, "cw_trace(\"%s\"): the loop is not the harness's; not recorded", label);
    return;
  }
  cw_trace_entry e = {NULL, cw_clock_now(h), cw_loop_phase(loop), cw_loop_macrotask_count(loop)};
  if (!append(h->trace, label, e))
    fail(h, file, line, "cw_trace(\"%s\"): out of memory; not recorded", label);
}

size_t cw_trace_count(const cw_harness *h) { return trace_of(h)->len; }

const cw_trace_entry *cw_trace_get(const cw_harness *h, size_t i) {
  const trace *t = trace_of(h);
  return i < t->len ? &t->entries[i] : NULL;
}

void cw_trace_clear(cw_harness *h) {
  if (!h || !h->trace)
    return;
  free_labels(h->trace);
  h->trace->len = 0;
  h->trace->ops_len = 0;
}

/* ---- operations ---------------------------------------------------------------- */

static size_t home_of(const trace *t, const cw_io_op *op) {
  return (size_t)(((uint64_t)(uintptr_t)op * UINT64_C(0x9E3779B97F4A7C15)) >> 32) & (t->flight_cap - 1);
}

static op_start *find_start(const trace *t, const cw_io_op *op) {
  if (!t->flight_cap)
    return NULL;
  for (size_t i = home_of(t, op); t->flight[i].op; i = (i + 1) & (t->flight_cap - 1))
    if (t->flight[i].op == op)
      return &t->flight[i];
  return NULL;
}

static void place_start(trace *t, op_start s) {
  size_t i = home_of(t, s.op);
  while (t->flight[i].op)
    i = (i + 1) & (t->flight_cap - 1);
  t->flight[i] = s;
  t->flight_len++;
}

/* Keeps the table at most half full. */
static bool grow_flight(trace *t) {
  size_t old_cap = t->flight_cap, cap = old_cap ? 2 * old_cap : 64;
  op_start *old = t->flight, *grown = calloc(cap, sizeof *grown);
  if (!grown)
    return false;
  t->flight = grown;
  t->flight_cap = cap;
  t->flight_len = 0;
  for (size_t i = 0; i < old_cap; i++)
    if (old[i].op)
      place_start(t, old[i]);
  free(old);
  return true;
}

/* Empties slot s, moving back the entries after it that probed past it. */
static void remove_start(trace *t, op_start *s) {
  size_t mask = t->flight_cap - 1, hole = (size_t)(s - t->flight);
  t->flight[hole].op = NULL;
  t->flight_len--;
  for (size_t i = (hole + 1) & mask; t->flight[i].op; i = (i + 1) & mask) {
    size_t home = home_of(t, t->flight[i].op);
    if (((i - home) & mask) >= ((i - hole) & mask)) { /* hole lies between its home and i */
      t->flight[hole] = t->flight[i];
      t->flight[i].op = NULL;
      hole = i;
    }
  }
}

static void fail_ops(cw_harness *h) {
  if (!h->trace->ops_failed)
    fail(h, __FILE__, __LINE__, "out of memory recording the fakes' operations in the trace; some are missing");
  h->trace->ops_failed = true;
}

void trace_op_started(cw_harness *h, const cw_io_op *op) {
  trace *t = h->trace;
  if (!t || !t->keeps_ops)
    return;
  char buf[300];
  const char *subject = copy_label(t, rules_subject(op, buf, sizeof buf));
  op_start *s = find_start(t, op); /* an address reused by an operation never seen completing */
  if (!subject || (!s && (t->flight_len + 1) * 2 > t->flight_cap && !grow_flight(t))) {
    fail_ops(h);
    return;
  }
  if (s)
    *s = (op_start){op, clock_now_ns(h), subject};
  else
    place_start(t, (op_start){op, clock_now_ns(h), subject});
}

void trace_op_completed(cw_harness *h, const cw_io_op *op, intptr_t result) {
  trace *t = h->trace;
  op_start *s = t ? find_start(t, op) : NULL;
  if (!s)
    return;
  op_record r = {op->kind, s->subject, s->start_ns, clock_now_ns(h), result, t->len};
  remove_start(t, s);
  if (t->ops_len == t->ops_cap) {
    size_t cap = t->ops_cap ? 2 * t->ops_cap : 64;
    op_record *grown = realloc(t->ops, cap * sizeof *grown);
    if (!grown) {
      fail_ops(h);
      return;
    }
    t->ops = grown;
    t->ops_cap = cap;
  }
  t->ops[t->ops_len++] = r;
}

/* ---- JSON lines ------------------------------------------------------------------ */

static void write_json_string(FILE *f, const char *s) {
  static const char short_escapes[] = "\b\f\n\r\t", short_names[] = "bfnrt";
  putc('"', f);
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    const char *esc = strchr(short_escapes, c);
    if (c == '"' || c == '\\')
      fprintf(f, "\\%c", c);
    else if (esc)
      fprintf(f, "\\%c", short_names[esc - short_escapes]);
    else if (c < 0x20)
      fprintf(f, "\\u%04x", c);
    else
      putc(c, f);
  }
  putc('"', f);
}

/* Virtual ns as ms with three decimals, exactly. */
static void write_ms(FILE *f, uint64_t ns) { fprintf(f, "%" PRIu64 ".%03" PRIu64, ns / 1000000, ns / 1000 % 1000); }

static void write_op(FILE *f, const op_record *r) {
  fprintf(f, "{\"op\":\"%s\",\"subject\":", cw_op_name(r->kind));
  write_json_string(f, r->subject);
  fputs(",\"start_ms\":", f);
  write_ms(f, r->start_ns);
  fputs(",\"end_ms\":", f);
  write_ms(f, r->end_ns);
  fprintf(f, ",\"result\":%" PRIdPTR "}\n", r->result);
}

static void write_label(FILE *f, const cw_trace_entry *e) {
  fputs("{\"label\": ", f);
  write_json_string(f, e->label);
  fprintf(f, ", \"time_ms\": %" PRIu64 ", \"phase\": \"%s\", \"macrotask\": %" PRIu64 "}\n", e->time_ms,
          cw_phase_name(e->phase), e->macrotask);
}

int cw_trace_write_json(const cw_harness *h, const char *path) { return trace_write_json(h, path, false); }

int trace_write_json(const cw_harness *h, const char *path, bool append) {
  if (!path)
    return -EINVAL;
  FILE *f = fopen(path, append ? "a" : "w");
  if (!f)
    return -errno;
  errno = 0;
  const trace *t = trace_of(h);
  /* each label after the operations that completed before it was recorded */
  size_t next_op = 0;
  for (size_t i = 0; i <= t->len; i++) {
    while (next_op < t->ops_len && (i == t->len || t->ops[next_op].labels_before <= i))
      write_op(f, &t->ops[next_op++]);
    if (i < t->len)
      write_label(f, &t->entries[i]);
  }
  int err = ferror(f) ? (errno ? errno : EIO) : 0;
  if (fclose(f) && !err)
    err = errno;
  return -err;
}

/* ---- assertions -------------------------------------------------------------------- */

/* The trace as a table for a failure: beside the expected labels when
 * expected is set; rows in mark are flagged with ">>". */
typedef struct listing {
  const trace *t;
  const char *const *expected;
  size_t expected_len;
  size_t mark[2]; /* NO_ROW: none */
} listing;

static size_t digits(uint64_t n) {
  size_t d = 1;
  while (n >= 10) {
    n /= 10;
    d++;
  }
  return d;
}

static size_t max_size(size_t a, size_t b) { return a > b ? a : b; }

static const char *expected_at(const listing *l, size_t i) { return i < l->expected_len ? l->expected[i] : "(none)"; }

static void print_listing(FILE *f, const listing *l) {
  const trace *t = l->t;
  size_t rows = l->expected ? max_size(l->expected_len, t->len) : t->len;
  size_t focus = l->mark[0] < l->mark[1] ? l->mark[0] : l->mark[1];
  size_t first = focus != NO_ROW && focus > ROWS_BEFORE ? focus - ROWS_BEFORE : 0;
  size_t last = rows - first > ROWS_SHOWN ? first + ROWS_SHOWN : rows;

  size_t label_w = strlen(l->expected ? "expected" : "label"), time_w = 1;
  for (size_t i = first; i < last; i++) {
    if (l->expected)
      label_w = max_size(label_w, strlen(expected_at(l, i)));
    if (i < t->len) {
      label_w = max_size(label_w, strlen(t->entries[i].label));
      time_w = max_size(time_w, digits(t->entries[i].time_ms));
    } else {
      label_w = max_size(label_w, strlen("(none)"));
    }
  }
  int index_w = (int)digits(rows ? rows - 1 : 0), lw = (int)label_w, tw = (int)time_w;

  fprintf(f, "\n   %*s", index_w, "#");
  if (l->expected)
    fprintf(f, "  %-*s", lw, "expected");
  fprintf(f, "  %-*s  %*s  %-9s  macrotask", lw, l->expected ? "actual" : "label", tw + 3, "time", "phase");
  if (rows == 0)
    fputs("\n   (the trace is empty)", f);
  if (first > 0)
    fprintf(f, "\n   (%zu rows before)", first);
  for (size_t i = first; i < last; i++) {
    fprintf(f, "\n%s %*zu", i == l->mark[0] || i == l->mark[1] ? ">>" : "  ", index_w, i);
    if (l->expected)
      fprintf(f, "  %-*s", lw, expected_at(l, i));
    if (i >= t->len) {
      fputs("  (none)", f);
      continue;
    }
    const cw_trace_entry *e = &t->entries[i];
    fprintf(f, "  %-*s  %*" PRIu64 " ms  %-9s  %" PRIu64, lw, e->label, tw, e->time_ms, cw_phase_name(e->phase),
            e->macrotask);
  }
  if (last < rows)
    fprintf(f, "\n   (%zu more rows)", rows - last);
}

/* Reports a failure: the reason, then the listing. */
static bool fail_listing(cw_harness *h, const char *file, int line, const listing *l, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static bool fail_listing(cw_harness *h, const char *file, int line, const listing *l, const char *fmt, ...) {
  char *text = NULL;
  size_t size = 0;
  FILE *f = open_memstream(&text, &size);
  if (!f) {
    fail(h, file, line, "out of memory reporting a trace assertion");
    return false;
  }
  va_list ap;
  va_start(ap, fmt);
  vfprintf(f, fmt, ap);
  va_end(ap);
  print_listing(f, l);
  if (fclose(f) == 0)
    fail(h, file, line, "%s", text);
  else
    fail(h, file, line, "out of memory reporting a trace assertion");
  free(text);
  return false;
}

static size_t first_record(const trace *t, const char *label) {
  for (size_t i = 0; i < t->len; i++)
    if (strcmp(t->entries[i].label, label) == 0)
      return i;
  return NO_ROW;
}

static const char *const separators = " \t\n";

bool cw_trace_expect_at(cw_harness *h, const char *labels, const char *file, int line) {
  const trace *t = trace_of(h);
  /* labels split in place in a copy; n labels need at least 2n - 1 characters */
  size_t size = strlen(labels) + 1;
  char *copy = malloc(size);
  const char **expected = malloc((size / 2 + 1) * sizeof *expected);
  if (!copy || !expected) {
    free(copy);
    free(expected);
    fail(h, file, line, "out of memory checking the trace");
    return false;
  }
  memcpy(copy, labels, size);
  size_t n = 0;
  char *save;
  for (char *label = strtok_r(copy, separators, &save); label; label = strtok_r(NULL, separators, &save))
    expected[n++] = label;

  size_t diverge = 0;
  while (diverge < n && diverge < t->len && strcmp(expected[diverge], t->entries[diverge].label) == 0)
    diverge++;
  bool held = diverge == n && diverge == t->len;
  if (!held) {
    listing l = {t, expected, n, {diverge, NO_ROW}};
    fail_listing(h, file, line, &l, "the trace differs from the expected one at entry %zu (%zu expected, %zu recorded):",
                 diverge, n, t->len);
  }
  free(expected);
  free(copy);
  return held;
}

static bool fail_missing(cw_harness *h, const char *file, int line, const char *expectation, const char *label,
                         size_t ia, size_t ib) {
  listing l = {trace_of(h), NULL, 0, {ia, ib}};
  return fail_listing(h, file, line, &l, "%s, but \"%s\" was never recorded:", expectation, label);
}

bool cw_trace_before_at(cw_harness *h, const char *a, const char *b, const char *file, int line) {
  const trace *t = trace_of(h);
  char expectation[512];
  snprintf(expectation, sizeof expectation, "expected \"%s\" before \"%s\"", a, b);
  size_t ia = first_record(t, a), ib = first_record(t, b);
  if (ia == NO_ROW || ib == NO_ROW)
    return fail_missing(h, file, line, expectation, ia == NO_ROW ? a : b, ia, ib);
  if (ia < ib)
    return true;
  listing l = {t, NULL, 0, {ia, ib}};
  return fail_listing(h, file, line, &l, "%s, but \"%s\" was first recorded at entry %zu and \"%s\" at entry %zu:",
                      expectation, b, ib, a, ia);
}

bool cw_trace_in_phase_at(cw_harness *h, const char *label, cw_phase phase, const char *file, int line) {
  const trace *t = trace_of(h);
  char expectation[512];
  snprintf(expectation, sizeof expectation, "expected \"%s\" in phase %s", label, cw_phase_name(phase));
  size_t i = first_record(t, label);
  if (i == NO_ROW)
    return fail_missing(h, file, line, expectation, label, NO_ROW, NO_ROW);
  if (t->entries[i].phase == phase)
    return true;
  listing l = {t, NULL, 0, {i, NO_ROW}};
  return fail_listing(h, file, line, &l, "%s, but it was first recorded in phase %s:", expectation,
                      cw_phase_name(t->entries[i].phase));
}

bool cw_trace_same_macrotask_at(cw_harness *h, const char *a, const char *b, const char *file, int line) {
  const trace *t = trace_of(h);
  char expectation[512];
  snprintf(expectation, sizeof expectation, "expected \"%s\" and \"%s\" in the same macrotask", a, b);
  size_t ia = first_record(t, a), ib = first_record(t, b);
  if (ia == NO_ROW || ib == NO_ROW)
    return fail_missing(h, file, line, expectation, ia == NO_ROW ? a : b, ia, ib);
  uint64_t ma = t->entries[ia].macrotask, mb = t->entries[ib].macrotask;
  if (ma == mb)
    return true;
  listing l = {t, NULL, 0, {ia, ib}};
  return fail_listing(h, file, line, &l,
                      "%s, but \"%s\" ran in macrotask %" PRIu64 " and \"%s\" in macrotask %" PRIu64 ":", expectation, a,
                      ma, b, mb);
}
