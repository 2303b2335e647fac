/* The clockwork side of the differential test: `run PROGRAM.flat` (or `-`
 * for stdin) runs a program written by `node gen.js SEED flat` on the core
 * and prints what Node prints for it (run.js), one label a line. The flat
 * grammar is described above toFlat in gen.js. The loop comes from run.h:
 * on the real clock (differential-run) or on the harness's virtual clock
 * (differential-run-virtual). Exits 0 only when the run returned 0 and no
 * promise reference was left floating. */
#include "run.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum kind {
  LOG, TICK, MICRO, TIMEOUT, INTERVAL, IMMEDIATE, CLEAR, CHAIN, /* statements */
  VALUE, REJECT, REF, PENDING, ALL, SETTLED, RACE, ANY,         /* promise sources */
  THEN, CATCH, FINALLY, HANDLER,                                /* chain links */
};
enum settle { OK, ERR, ADOPT };
enum via { VIA_TIMEOUT, VIA_IMMEDIATE, VIA_TICK, VIA_MICRO };

struct node {
  enum kind kind;
  int id;
  const char *label;       /* LOG */
  int ms, count;           /* TIMEOUT, INTERVAL, PENDING */
  enum via via;            /* PENDING */
  enum settle settle;      /* PENDING, HANDLER: how it ends, with n */
  int n;                   /* a value, an error code or a promise id */
  struct node *body;       /* a callback's statements */
  struct node *kids;       /* CHAIN: the source, then the links; combinators: the inputs */
  struct node *ok, *err;   /* THEN, CATCH: the handlers */
  struct node *next;
};

/* Every allocation lives until the end of the run: one list, freed at once. */
struct block {
  struct block *next;
  max_align_t data[];
};
static struct block *blocks;

static void *alloc(size_t size) {
  struct block *b = calloc(1, sizeof *b + size);
  if (!b) {
    fputs("run: out of memory\n", stderr);
    exit(2);
  }
  b->next = blocks;
  blocks = b;
  return b->data;
}

/* ---- reading the flat form ------------------------------------------------ */

static char *cursor;
static int max_id;

__attribute__((noreturn, format(printf, 1, 2))) static void fail(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("run: bad program: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  exit(2);
}

static char *token(void) {
  cursor += strspn(cursor, " \t\n");
  if (!*cursor)
    fail("unexpected end");
  char *t = cursor;
  cursor += strcspn(cursor, " \t\n");
  if (*cursor)
    *cursor++ = '\0';
  return t;
}

static bool is(const char *t, const char *word) { return strcmp(t, word) == 0; }

/* Consumes the next token if it is word. */
static bool skip(const char *word) {
  char *t = cursor + strspn(cursor, " \t\n");
  size_t n = strlen(word);
  if (strncmp(t, word, n) != 0 || !strchr(" \t\n", t[n]))
    return false;
  cursor = t + n;
  return true;
}

static int number(void) {
  char *t = token(), *end;
  long v = strtol(t, &end, 10);
  if (*end || v < -100000 || v > 100000)
    fail("'%s' is not a number", t);
  return (int)v;
}

static int id(void) {
  int v = number();
  if (v < 1)
    fail("id %d", v);
  if (v > max_id)
    max_id = v;
  return v;
}

static struct node *node(enum kind kind) {
  struct node *n = alloc(sizeof *n);
  n->kind = kind;
  return n;
}

static struct node *statement(char *t);

static struct node *body(void) {
  char *t = token();
  if (!is(t, "{"))
    fail("'{' expected, not '%s'", t);
  struct node *first = NULL, **tail = &first;
  while (!is(t = token(), "}")) {
    *tail = statement(t);
    tail = &(*tail)->next;
  }
  return first;
}

static void settle(struct node *n) {
  char *t = token();
  if (is(t, "ok"))
    n->settle = OK;
  else if (is(t, "err"))
    n->settle = ERR;
  else if (is(t, "adopt"))
    n->settle = ADOPT;
  else
    fail("settle '%s'", t);
  n->n = n->settle == ADOPT ? id() : number();
}

static struct node *handler(void) {
  struct node *h = node(HANDLER);
  h->id = id();
  settle(h);
  h->body = body();
  return h;
}

static const char *const via_names[] = {"timeout", "immediate", "tick", "micro"};
static const char *const combinator_names[] = {[ALL] = "all", [SETTLED] = "settled", [RACE] = "race", [ANY] = "any"};

static struct node *source(void) {
  char *t = token();
  if (is(t, "value") || is(t, "reject") || is(t, "ref")) {
    struct node *s = node(is(t, "value") ? VALUE : is(t, "reject") ? REJECT : REF);
    s->id = id();
    if (s->kind != REF)
      s->n = number();
    return s;
  }
  if (is(t, "pending")) {
    struct node *s = node(PENDING);
    s->id = id();
    t = token();
    for (s->via = VIA_TIMEOUT; !is(t, via_names[s->via]); s->via++)
      if (s->via == VIA_MICRO)
        fail("via '%s'", t);
    s->ms = number();
    settle(s);
    s->body = body();
    return s;
  }
  for (enum kind k = ALL; k <= ANY; k++) {
    if (!is(t, combinator_names[k]))
      continue;
    struct node *s = node(k);
    s->id = id();
    s->n = number();
    if (s->n < 1)
      fail("%s of %d inputs", t, s->n);
    struct node **tail = &s->kids;
    for (int i = 0; i < s->n; i++, tail = &(*tail)->next)
      *tail = source();
    return s;
  }
  fail("source '%s'", t);
}

static struct node *chain(void) {
  struct node *c = node(CHAIN);
  c->kids = source();
  struct node **tail = &c->kids->next;
  for (char *t; !is(t = token(), "end"); tail = &(*tail)->next) {
    struct node *l;
    if (is(t, "finally")) {
      l = node(FINALLY);
      l->id = id();
      l->body = body();
    } else if (is(t, "catch")) {
      l = node(CATCH);
      l->id = id();
      l->err = handler();
    } else if (is(t, "then")) {
      l = node(THEN);
      l->id = id();
      l->ok = handler();
      if (!skip("-"))
        l->err = handler();
    } else {
      fail("link '%s'", t);
    }
    *tail = l;
  }
  return c;
}

static struct node *statement(char *t) {
  static const struct { const char *word; enum kind kind; } words[] = {
    {"tick", TICK}, {"micro", MICRO}, {"timeout", TIMEOUT}, {"interval", INTERVAL}, {"immediate", IMMEDIATE},
  };
  if (is(t, "log")) {
    struct node *s = node(LOG);
    s->label = token();
    return s;
  }
  if (is(t, "clear")) {
    struct node *s = node(CLEAR);
    s->id = id();
    return s;
  }
  if (is(t, "chain"))
    return chain();
  for (size_t i = 0; i < sizeof words / sizeof *words; i++) {
    if (!is(t, words[i].word))
      continue;
    struct node *s = node(words[i].kind);
    s->id = id();
    if (s->kind == TIMEOUT || s->kind == INTERVAL)
      s->ms = number();
    if (s->kind == INTERVAL)
      s->count = number();
    s->body = body();
    return s;
  }
  fail("statement '%s'", t);
}

/* ---- running it ----------------------------------------------------------- */

static cw_loop *loop;
static cw_promise **promises; /* P[id]: one reference each, released at the end */
static cw_timer **timers;     /* T[id] */

#define VALUE_OF(v) ((void *)(intptr_t)(v))

/* The outputs of all and allSettled: a value that is one of these prints as
 * a list, any other as the small integer it encodes. */
struct combined {
  struct combined *next;
  size_t n;
  void **values;
  cw_result *results;
};
static struct combined *combined;

static void show(void *value) {
  for (struct combined *c = combined; c; c = c->next) {
    if (value != c->values && value != c->results)
      continue;
    putchar('[');
    for (size_t i = 0; i < c->n; i++) {
      if (i)
        putchar(',');
      if (c->values) {
        show(c->values[i]);
      } else if (c->results[i].state == CW_FULFILLED) {
        fputs("ok:", stdout);
        show(c->results[i].value);
      } else {
        printf("err:%d", c->results[i].error);
      }
    }
    putchar(']');
    return;
  }
  printf("%d", (int)(intptr_t)value);
}

static void run_body(struct node *s);

static void name(int id, cw_promise *p) {
  if (promises[id])
    cw_release(promises[id]); /* an interval body names its promises again on every run */
  promises[id] = cw_ref(p);
}

/* process.nextTick, queueMicrotask, setTimeout and setImmediate callbacks. */
static void on_callback(void *arg) {
  static const char prefix[] = {[TICK] = 'k', [MICRO] = 'm', [TIMEOUT] = 't', [IMMEDIATE] = 'i'};
  struct node *s = arg;
  printf("%c%d\n", prefix[s->kind], s->id);
  run_body(s->body);
}

struct interval {
  struct node *s;
  int runs;
  cw_timer *timer;
};

static void on_interval(void *arg) {
  struct interval *iv = arg;
  printf("v%d %d\n", iv->s->id, ++iv->runs);
  run_body(iv->s->body);
  if (iv->runs == iv->s->count)
    cw_clear(iv->timer);
}

struct resolver {
  struct node *s;
  cw_promise *p;
};

static void on_resolve(void *arg) {
  struct resolver *r = arg;
  printf("r%d\n", r->s->id);
  run_body(r->s->body);
  switch (r->s->settle) {
  case OK: cw_resolve(r->p, VALUE_OF(r->s->n)); break;
  case ERR: cw_reject(r->p, r->s->n); break;
  case ADOPT: cw_resolve_with(r->p, cw_ref(promises[r->s->n])); break;
  }
}

static cw_result handler_end(struct node *h) {
  switch (h->settle) {
  case OK: return cw_ok(VALUE_OF(h->n));
  case ERR: return cw_err(h->n);
  default: return cw_follow(cw_ref(promises[h->n]));
  }
}

static cw_result on_ok(void *arg, cw_result in) {
  struct node *h = ((struct node *)arg)->ok;
  printf("h%d ", h->id);
  show(in.value);
  putchar('\n');
  run_body(h->body);
  return handler_end(h);
}

static cw_result on_err(void *arg, cw_result in) {
  struct node *h = ((struct node *)arg)->err;
  printf("h%d err %d\n", h->id, in.error);
  run_body(h->body);
  return handler_end(h);
}

static void on_finally(void *arg) {
  struct node *l = arg;
  printf("f%d\n", l->id);
  run_body(l->body);
}

static cw_promise *make_source(struct node *s) {
  switch (s->kind) {
  case VALUE: return cw_resolved(loop, VALUE_OF(s->n));
  case REJECT: return cw_rejected(loop, s->n);
  case REF: return cw_ref(promises[s->id]);
  case PENDING: {
    struct resolver *r = alloc(sizeof *r);
    cw_promise *p = cw_promise_new(loop);
    r->s = s;
    r->p = cw_ref(p);
    switch (s->via) {
    case VIA_TIMEOUT: cw_set_timeout(loop, (uint64_t)s->ms, on_resolve, r); break;
    case VIA_IMMEDIATE: cw_set_immediate(loop, on_resolve, r); break;
    case VIA_TICK: cw_next_tick(loop, on_resolve, r); break;
    case VIA_MICRO: cw_queue_microtask(loop, on_resolve, r); break;
    }
    return p;
  }
  default: {
    size_t n = (size_t)s->n;
    cw_promise **inputs = alloc(n * sizeof *inputs);
    struct node *in = s->kids;
    for (size_t i = 0; i < n; i++, in = in->next)
      inputs[i] = make_source(in);
    struct combined *c = alloc(sizeof *c);
    c->n = n;
    switch (s->kind) {
    case ALL:
      c->values = alloc(n * sizeof *c->values);
      c->next = combined;
      combined = c;
      return cw_all(loop, inputs, n, c->values);
    case SETTLED:
      c->results = alloc(n * sizeof *c->results);
      c->next = combined;
      combined = c;
      return cw_all_settled(loop, inputs, n, c->results);
    case RACE: return cw_race(loop, inputs, n);
    default: return cw_any(loop, inputs, n);
    }
  }
  }
}

static cw_promise *make_link(cw_promise *p, struct node *l) {
  switch (l->kind) {
  case THEN: return cw_then(p, on_ok, l->err ? on_err : NULL, l);
  case CATCH: return cw_catch(p, on_err, l);
  default: return cw_finally(p, on_finally, l);
  }
}

static void run_statement(struct node *s) {
  switch (s->kind) {
  case LOG: puts(s->label); break;
  case TICK: cw_next_tick(loop, on_callback, s); break;
  case MICRO: cw_queue_microtask(loop, on_callback, s); break;
  case TIMEOUT: timers[s->id] = cw_set_timeout(loop, (uint64_t)s->ms, on_callback, s); break;
  case IMMEDIATE: timers[s->id] = cw_set_immediate(loop, on_callback, s); break;
  case INTERVAL: {
    struct interval *iv = alloc(sizeof *iv);
    iv->s = s;
    iv->timer = timers[s->id] = cw_set_interval(loop, (uint64_t)s->ms, on_interval, iv);
    break;
  }
  case CLEAR: cw_clear(timers[s->id]); break;
  default: { /* CHAIN */
    struct node *src = s->kids;
    cw_promise *p = make_source(src);
    if (src->kind != REF)
      name(src->id, p);
    for (struct node *l = src->next; l; l = l->next) {
      p = make_link(p, l);
      name(l->id, p);
    }
    cw_release(p);
  }
  }
}

static void run_body(struct node *s) {
  for (; s; s = s->next)
    run_statement(s);
}

static void run_main(void *arg) { run_body(arg); }

static char *read_all(FILE *f) {
  size_t size = 0, cap = 4096;
  char *buf = malloc(cap);
  for (size_t got; buf && (got = fread(buf + size, 1, cap - size - 1, f)) > 0;) {
    size += got;
    if (cap - size == 1) {
      char *bigger = realloc(buf, cap *= 2);
      if (!bigger)
        free(buf);
      buf = bigger;
    }
  }
  if (!buf) {
    fputs("run: out of memory\n", stderr);
    exit(2);
  }
  buf[size] = '\0';
  return buf;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fputs("usage: run PROGRAM.flat (- for stdin)\n", stderr);
    return 2;
  }
  FILE *f = is(argv[1], "-") ? stdin : fopen(argv[1], "r");
  if (!f) {
    perror(argv[1]);
    return 2;
  }
  char *text = read_all(f);
  if (f != stdin)
    fclose(f);
  cursor = text;
  struct node *main_body = body();
  if (cursor[strspn(cursor, " \t\n")])
    fail("text after the main body");
  promises = alloc((size_t)(max_id + 1) * sizeof *promises);
  timers = alloc((size_t)(max_id + 1) * sizeof *timers);

  loop = program_loop_new();
  if (!loop) {
    fputs("run: out of memory\n", stderr);
    return 2;
  }
  int rc = program_loop_run(run_main, main_body);
  fflush(stdout);
  if (rc != 0)
    fprintf(stderr, "the run returned %s: %s\n", cw_err_name(rc), cw_strerror(rc));
  for (int i = 0; i <= max_id; i++)
    if (promises[i])
      cw_release(promises[i]);
  bool clean = program_loop_free();
  while (blocks) {
    struct block *b = blocks;
    blocks = b->next;
    free(b);
  }
  free(text);
  return rc != 0 || !clean;
}
