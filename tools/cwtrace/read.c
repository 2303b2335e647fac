/* The reader: a strict parser for exactly the two kinds of line a CW_TRACE
 * file holds, the split into runs, and the lanes. */
#include "cwtrace.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* ---- one line --------------------------------------------------------------------- */

enum { K_LABEL, K_TIME, K_PHASE, K_MACROTASK, K_OP, K_SUBJECT, K_START, K_END, K_RESULT, K_RUN, K_COUNT };
static const struct {
  const char *name;
  bool is_string;
} keys[K_COUNT] = {
    {"label", true}, {"time_ms", false},  {"phase", true},  {"macrotask", false}, {"op", true},
    {"subject", true}, {"start_ms", false}, {"end_ms", false}, {"result", false}, {"run", false},
};
#define LABEL_KEYS (1u << K_LABEL | 1u << K_TIME | 1u << K_PHASE | 1u << K_MACROTASK)
#define OP_KEYS (1u << K_OP | 1u << K_SUBJECT | 1u << K_START | 1u << K_END | 1u << K_RESULT)

typedef struct line {
  const char *start, *p;
  unsigned seen; /* keys found, by bit */
  char *strings[K_COUNT];
  double numbers[K_COUNT];
  char *err;
  size_t err_size;
  const char *name;
  size_t number;
} line;

static bool failf(line *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool failf(line *l, const char *fmt, ...) {
  int n = snprintf(l->err, l->err_size, "%s:%zu:%td: ", l->name, l->number, l->p - l->start + 1);
  if (n >= 0 && (size_t)n < l->err_size) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(l->err + n, l->err_size - (size_t)n, fmt, ap);
    va_end(ap);
  }
  return false;
}

static void skip_space(line *l) {
  while (*l->p == ' ' || *l->p == '\t' || *l->p == '\r' || *l->p == '\n')
    l->p++;
}

static bool expect(line *l, char c, const char *what) {
  skip_space(l);
  if (*l->p != c)
    return failf(l, "expected %s", what);
  l->p++;
  return true;
}

static int hex_digit(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

static bool hex4(line *l, unsigned *out) {
  unsigned v = 0;
  for (int i = 0; i < 4; i++) {
    int d = hex_digit(l->p[i]);
    if (d < 0)
      return failf(l, "\\u needs four hex digits");
    v = v << 4 | (unsigned)d;
  }
  l->p += 4;
  *out = v;
  return true;
}

static char *put_utf8(char *o, unsigned cp) {
  if (cp < 0x80) {
    *o++ = (char)cp;
  } else if (cp < 0x800) {
    *o++ = (char)(0xc0 | cp >> 6);
    *o++ = (char)(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    *o++ = (char)(0xe0 | cp >> 12);
    *o++ = (char)(0x80 | (cp >> 6 & 0x3f));
    *o++ = (char)(0x80 | (cp & 0x3f));
  } else {
    *o++ = (char)(0xf0 | cp >> 18);
    *o++ = (char)(0x80 | (cp >> 12 & 0x3f));
    *o++ = (char)(0x80 | (cp >> 6 & 0x3f));
    *o++ = (char)(0x80 | (cp & 0x3f));
  }
  return o;
}

/* The length of the valid UTF-8 sequence at s, or 0. */
static size_t utf8_length(const unsigned char *s) {
  unsigned c = s[0];
  size_t n = c >= 0xf0 && c <= 0xf4 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c < 0xe0 ? 2 : 0;
  if (!n)
    return 0;
  for (size_t i = 1; i < n; i++)
    if ((s[i] & 0xc0) != 0x80)
      return 0;
  unsigned second = s[1];
  if ((c == 0xe0 && second < 0xa0) || (c == 0xed && second > 0x9f) || (c == 0xf0 && second < 0x90) ||
      (c == 0xf4 && second > 0x8f))
    return 0; /* overlong, a surrogate, or beyond U+10FFFF */
  return n;
}

/* A JSON string at l->p, decoded into a malloc'ed UTF-8 string; invalid
 * UTF-8 in the input becomes U+FFFD, so that both outputs stay valid. NUL
 * (\u0000) is refused: labels and subjects are C strings. */
static bool parse_string(line *l, char **out) {
  if (!expect(l, '"', "a string"))
    return false;
  /* each input byte yields at most 3 output bytes (a lone byte as U+FFFD) */
  char *s = malloc(3 * strlen(l->p) + 1), *o = s;
  if (!s)
    return failf(l, "out of memory");
  while (*l->p != '"') {
    unsigned char c = (unsigned char)*l->p;
    if (c == '\0') {
      free(s);
      return failf(l, "unterminated string");
    }
    if (c < 0x20) {
      free(s);
      return failf(l, "control character 0x%02x in a string (must be escaped)", c);
    }
    if (c >= 0x80) {
      size_t n = utf8_length((const unsigned char *)l->p);
      if (n) {
        memcpy(o, l->p, n);
        o += n;
        l->p += n;
      } else {
        o = put_utf8(o, 0xfffd);
        l->p++;
      }
      continue;
    }
    l->p++;
    if (c != '\\') {
      *o++ = (char)c;
      continue;
    }
    static const char escapes[] = "\"\\/bfnrt", decoded[] = "\"\\/\b\f\n\r\t";
    const char *e = *l->p ? strchr(escapes, *l->p) : NULL;
    if (e) {
      *o++ = decoded[e - escapes];
      l->p++;
      continue;
    }
    if (*l->p != 'u') {
      free(s);
      return failf(l, "invalid escape \\%c", *l->p ? *l->p : ' ');
    }
    l->p++;
    unsigned cp = 0, low = 0;
    if (!hex4(l, &cp)) {
      free(s);
      return false;
    }
    if (cp >= 0xdc00 && cp <= 0xdfff) {
      free(s);
      return failf(l, "lone low surrogate \\u%04x", cp);
    }
    if (cp >= 0xd800 && cp <= 0xdbff) {
      if (l->p[0] != '\\' || l->p[1] != 'u') {
        free(s);
        return failf(l, "high surrogate \\u%04x not followed by a low one", cp);
      }
      l->p += 2;
      if (!hex4(l, &low)) {
        free(s);
        return false;
      }
      if (low < 0xdc00 || low > 0xdfff) {
        free(s);
        return failf(l, "high surrogate \\u%04x followed by \\u%04x, not a low one", cp, low);
      }
      cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
    }
    if (cp == 0) {
      free(s);
      return failf(l, "\\u0000 in a string");
    }
    o = put_utf8(o, cp);
  }
  l->p++;
  *o = '\0';
  char *fitted = realloc(s, (size_t)(o - s) + 1);
  *out = fitted ? fitted : s;
  return true;
}

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

/* A JSON number, exactly as the grammar says (no leading zeros, no bare dot). */
static bool parse_number(line *l, double *out) {
  skip_space(l);
  const char *q = l->p;
  if (*q == '-')
    q++;
  if (*q == '0')
    q++;
  else if (is_digit(*q))
    while (is_digit(*q))
      q++;
  else
    return failf(l, "expected a number");
  if (*q == '.') {
    if (!is_digit(*++q))
      return failf(l, "expected digits after the decimal point");
    while (is_digit(*q))
      q++;
  }
  if (*q == 'e' || *q == 'E') {
    q++;
    if (*q == '+' || *q == '-')
      q++;
    if (!is_digit(*q))
      return failf(l, "expected digits in the exponent");
    while (is_digit(*q))
      q++;
  }
  double v = strtod(l->p, NULL);
  if (!isfinite(v))
    return failf(l, "number out of range");
  l->p = q;
  *out = v;
  return true;
}

/* The value of a key this reader does not know: a string, number, or
 * literal, skipped (so that writers may add fields); nesting is refused. */
static bool skip_value(line *l, const char *key) {
  skip_space(l);
  if (*l->p == '"') {
    char *s = NULL;
    if (!parse_string(l, &s))
      return false;
    free(s);
    return true;
  }
  static const char *const literals[] = {"true", "false", "null"};
  for (size_t i = 0; i < 3; i++)
    if (strncmp(l->p, literals[i], strlen(literals[i])) == 0) {
      l->p += strlen(literals[i]);
      return true;
    }
  if (*l->p == '{' || *l->p == '[')
    return failf(l, "unknown key \"%s\" with a nested value", key);
  double ignored;
  return parse_number(l, &ignored);
}

static bool parse_member(line *l) {
  char *key = NULL;
  if (!parse_string(l, &key))
    return false;
  if (!expect(l, ':', "':' after a key")) {
    free(key);
    return false;
  }
  size_t k = 0;
  while (k < K_COUNT && strcmp(keys[k].name, key) != 0)
    k++;
  if (k == K_COUNT) {
    bool ok = skip_value(l, key);
    free(key);
    return ok;
  }
  free(key);
  if (l->seen & 1u << k)
    return failf(l, "duplicate key \"%s\"", keys[k].name);
  l->seen |= 1u << k;
  return keys[k].is_string ? parse_string(l, &l->strings[k]) : parse_number(l, &l->numbers[k]);
}

static bool parse_object(line *l) {
  if (!expect(l, '{', "'{' (each line is one JSON object)"))
    return false;
  skip_space(l);
  if (*l->p == '}')
    return failf(l, "empty object");
  for (;;) {
    if (!parse_member(l))
      return false;
    skip_space(l);
    if (*l->p == '}')
      break;
    if (!expect(l, ',', "',' or '}'"))
      return false;
  }
  l->p++;
  skip_space(l);
  return *l->p == '\0' || failf(l, "text after the object");
}

/* ---- the line's meaning ------------------------------------------------------------- */

static bool is_integer(double v) { return v == floor(v) && fabs(v) <= 9007199254740992.0; }

static bool need(line *l, unsigned wanted, const char *kind) {
  for (size_t k = 0; k < K_COUNT; k++)
    if ((wanted & 1u << k) && !(l->seen & 1u << k))
      return failf(l, "%s line without \"%s\"", kind, keys[k].name);
  return true;
}

static bool grow(void **items, size_t *cap, size_t len, size_t size) {
  if (len < *cap)
    return true;
  size_t n = *cap ? 2 * *cap : 16;
  void *grown = realloc(*items, n * size);
  if (!grown)
    return false;
  *items = grown;
  *cap = n;
  return true;
}

static tr_run *new_run(tr_trace *t) {
  if (!grow((void **)&t->runs, &t->runs_cap, t->n_runs, sizeof *t->runs))
    return NULL;
  tr_run *r = &t->runs[t->n_runs++];
  memset(r, 0, sizeof *r);
  return r;
}

/* The run a line at ms belongs to. The harness writes each label when it
 * was recorded and each op when it completed, in that order, so within a
 * run a line's time (a label's time_ms, an op's end_ms) is never before the
 * previous line's (*last_ms): time going back means the next harness's
 * trace begins. NULL when out of memory. */
static tr_run *run_at(tr_trace *t, double *last_ms, double ms) {
  tr_run *r = t->n_runs ? &t->runs[t->n_runs - 1] : NULL;
  if (!r || ms < *last_ms)
    r = new_run(t);
  if (r) {
    *last_ms = ms;
    r->end_ms = fmax(r->end_ms, ms);
  }
  return r;
}

/* Takes the strings of a valid line into the trace; false on a bad value. */
static bool add_line(tr_trace *t, double *last_ms, line *l) {
  l->p = l->start; /* what follows is about the whole object */
  bool is_label = l->seen & LABEL_KEYS, is_op = l->seen & OP_KEYS, is_start = l->seen & 1u << K_RUN;
  if (is_label + is_op + is_start > 1)
    return failf(l, "a line has the keys of one kind of line only (label, op or run)");
  if (!is_label && !is_op && !is_start)
    return failf(l, "neither a label line (\"label\", \"time_ms\", \"phase\", \"macrotask\") nor an op line "
                    "(\"op\", \"subject\", \"start_ms\", \"end_ms\", \"result\") nor a run line (\"run\")");
  double *n = l->numbers;
  tr_run *r;
  if (is_start) { /* a harness begins: a new run unless the current one is still empty */
    *last_ms = -1;
    r = t->n_runs ? &t->runs[t->n_runs - 1] : NULL;
    return (r && !r->n_labels && !r->n_ops) || new_run(t) || failf(l, "out of memory");
  }
  if (is_label) {
    if (!need(l, LABEL_KEYS, "a label"))
      return false;
    if (n[K_TIME] < 0)
      return failf(l, "time_ms is negative");
    if (n[K_MACROTASK] < 0 || !is_integer(n[K_MACROTASK]))
      return failf(l, "macrotask is not a count");
    r = run_at(t, last_ms, n[K_TIME]);
    if (!r || !grow((void **)&r->labels, &r->labels_cap, r->n_labels, sizeof *r->labels))
      return failf(l, "out of memory");
    r->labels[r->n_labels++] = (tr_label){l->strings[K_LABEL], l->strings[K_PHASE], n[K_TIME],
                                          (uint64_t)n[K_MACROTASK]};
    l->strings[K_LABEL] = l->strings[K_PHASE] = NULL;
    return true;
  }
  if (!need(l, OP_KEYS, "an op"))
    return false;
  if (n[K_START] < 0)
    return failf(l, "start_ms is negative");
  if (n[K_END] < n[K_START])
    return failf(l, "end_ms (%g) is before start_ms (%g)", n[K_END], n[K_START]);
  if (!is_integer(n[K_RESULT]))
    return failf(l, "result is not an integer");
  r = run_at(t, last_ms, n[K_END]);
  if (!r || !grow((void **)&r->ops, &r->ops_cap, r->n_ops, sizeof *r->ops))
    return failf(l, "out of memory");
  r->ops[r->n_ops++] = (tr_op){l->strings[K_OP], l->strings[K_SUBJECT], n[K_START], n[K_END],
                               (int64_t)n[K_RESULT], 0};
  l->strings[K_OP] = l->strings[K_SUBJECT] = NULL;
  return true;
}

/* ---- lanes: each op on the lowest lane free at its start ----------------------------- */

typedef struct slot {
  double key; /* busy lanes: when the lane frees; free lanes: the lane */
  size_t lane;
} slot;

typedef struct heap {
  slot *items;
  size_t len;
} heap;

static bool before(slot a, slot b) { return a.key != b.key ? a.key < b.key : a.lane < b.lane; }

static void heap_push(heap *h, slot s) {
  size_t i = h->len++;
  while (i > 0 && before(s, h->items[(i - 1) / 2])) {
    h->items[i] = h->items[(i - 1) / 2];
    i = (i - 1) / 2;
  }
  h->items[i] = s;
}

static slot heap_pop(heap *h) {
  slot top = h->items[0], last = h->items[--h->len];
  size_t i = 0;
  for (;;) {
    size_t child = 2 * i + 1;
    if (child >= h->len)
      break;
    if (child + 1 < h->len && before(h->items[child + 1], h->items[child]))
      child++;
    if (!before(h->items[child], last))
      break;
    h->items[i] = h->items[child];
    i = child;
  }
  if (h->len)
    h->items[i] = last;
  return top;
}

static const tr_op *sort_ops;
static int by_start(const void *a, const void *b) {
  const tr_op *x = &sort_ops[*(const size_t *)a], *y = &sort_ops[*(const size_t *)b];
  if (x->start_ms != y->start_ms)
    return x->start_ms < y->start_ms ? -1 : 1;
  if (x->end_ms != y->end_ms)
    return x->end_ms < y->end_ms ? -1 : 1;
  return (*(const size_t *)a > *(const size_t *)b) - (*(const size_t *)a < *(const size_t *)b);
}

static bool assign_lanes(tr_run *r) {
  size_t *order = malloc((r->n_ops + 1) * sizeof *order);
  heap busy = {malloc((r->n_ops + 1) * sizeof(slot)), 0}, idle = {malloc((r->n_ops + 1) * sizeof(slot)), 0};
  bool ok = order && busy.items && idle.items;
  if (ok) {
    for (size_t i = 0; i < r->n_ops; i++)
      order[i] = i;
    sort_ops = r->ops;
    qsort(order, r->n_ops, sizeof *order, by_start);
    for (size_t i = 0; i < r->n_ops; i++) {
      tr_op *o = &r->ops[order[i]];
      while (busy.len && busy.items[0].key <= o->start_ms) {
        size_t lane = heap_pop(&busy).lane;
        heap_push(&idle, (slot){(double)lane, lane});
      }
      o->lane = idle.len ? heap_pop(&idle).lane : r->lanes++;
      heap_push(&busy, (slot){o->end_ms, o->lane});
    }
  }
  free(order);
  free(busy.items);
  free(idle.items);
  return ok;
}

/* ---- the file ---------------------------------------------------------------------------- */

bool tr_read(tr_trace *t, FILE *f, const char *name, char *err, size_t err_size) {
  char *text = NULL;
  size_t size = 0;
  ssize_t len;
  double last_ms = -1;
  bool ok = true;
  line l = {.err = err, .err_size = err_size, .name = name};
  while (ok && (len = getline(&text, &size, f)) >= 0) {
    l.number++;
    l.start = l.p = text;
    if ((size_t)len != strlen(text)) {
      l.p = text + strlen(text);
      ok = failf(&l, "NUL byte in the line");
      break;
    }
    while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
      text[--len] = '\0';
    skip_space(&l);
    if (*l.p == '\0')
      continue; /* blank lines are allowed */
    l.p = text;
    l.seen = 0;
    ok = parse_object(&l) && add_line(t, &last_ms, &l);
    for (size_t k = 0; k < K_COUNT; k++) {
      free(l.strings[k]);
      l.strings[k] = NULL;
    }
  }
  free(text);
  if (t->n_runs && !t->runs[t->n_runs - 1].n_labels && !t->runs[t->n_runs - 1].n_ops)
    t->n_runs--; /* a run line with nothing after it */
  if (ok && ferror(f)) {
    snprintf(err, err_size, "%s: read error", name);
    ok = false;
  }
  for (size_t i = 0; ok && i < t->n_runs; i++)
    if (!assign_lanes(&t->runs[i])) {
      snprintf(err, err_size, "%s: out of memory", name);
      ok = false;
    }
  return ok;
}

void tr_free(tr_trace *t) {
  for (size_t i = 0; i < t->n_runs; i++) {
    tr_run *r = &t->runs[i];
    for (size_t j = 0; j < r->n_labels; j++) {
      free(r->labels[j].label);
      free(r->labels[j].phase);
    }
    for (size_t j = 0; j < r->n_ops; j++) {
      free(r->ops[j].op);
      free(r->ops[j].subject);
    }
    free(r->labels);
    free(r->ops);
  }
  free(t->runs);
  memset(t, 0, sizeof *t);
}
