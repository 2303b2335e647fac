/* Rules: which operations get latency and faults. Each operation asks
 * rules_plan at its start; every rule it matches counts the match, those
 * whose trigger holds apply, in creation order, drawing from the loop's
 * seeded generator in that order, so the same seed gives the same plans.
 *
 * Removed rules stay allocated until the harness frees them: a removed
 * rule's counts stay readable and a second remove is harmless.
 *
 * Each operation meets every rule, so a rule decides cheaply what it can:
 * which kinds its op pattern names is known when it is made, and the
 * start of its match pattern before any wildcard turns most subjects away
 * before fnmatch, or settles them without it when a lone star ends it. */
#include "fakes_internal.h"

#include <fnmatch.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct cw_rule {
  cw_rule *next; /* in creation order */
  cw_harness *h;
  cw_rule_spec spec; /* op and match point into the allocation, after the struct */
  uint64_t matches, applied;
  uint32_t kinds;     /* bit k set: spec.op matches the name of kind k */
  size_t literal;     /* spec.match: the length of its start without wildcards */
  bool removed;
};

struct fake_rules {
  cw_rule *first, *last;
};

/* Latencies saturate here (about 146 years): deadlines never overflow. */
#define LATENCY_MAX (UINT64_C(1) << 62)

/* ---- matching ----------------------------------------------------------------- */

static bool is_net(cw_op_kind kind) { return kind >= CW_OP_NET_CONNECT && kind <= CW_OP_NET_CLOSE; }

/* An operation on a descriptor matches by the path it was opened with. */
const char *rules_subject(const cw_io_op *op, char *buf, size_t size) {
  if (is_net(op->kind)) {
    snprintf(buf, size, "%s:%d", op->path ? op->path : "", op->port);
    return buf;
  }
  const char *path = op->path;
  if (!path && op->fd >= 0 && harness_current && harness_current->fakes)
    path = fs_fd_path(harness_current->fakes, op->fd);
  return path ? path : "";
}

/* A NULL pattern matches anything. */
static bool pattern_matches(const char *pattern, const char *text) {
  return !pattern || fnmatch(pattern, text, 0) == 0;
}

bool rules_op_matches(const char *pattern, cw_op_kind kind) { return pattern_matches(pattern, cw_op_name(kind)); }

uint32_t rules_op_kinds(const char *pattern) {
  uint32_t kinds = 0;
  for (int kind = 0; kind < CW_OP_COUNT; kind++)
    if (rules_op_matches(pattern, (cw_op_kind)kind))
      kinds |= UINT32_C(1) << kind;
  return kinds;
}

/* What fnmatch(r->spec.match, subject, 0) gives, without it when the
 * literal start decides: without flags every character but * ? [ and \
 * matches only itself, and a final * anything. */
static bool subject_matches(const cw_rule *r, const char *subject) {
  const char *match = r->spec.match;
  if (!match)
    return true;
  if (strncmp(match, subject, r->literal) != 0)
    return false;
  const char *rest = match + r->literal;
  if (!*rest)
    return !subject[r->literal];
  return (rest[0] == '*' && !rest[1]) || fnmatch(match, subject, 0) == 0;
}

/* ---- validation ------------------------------------------------------------------ */

static bool moves_bytes(cw_op_kind kind) {
  return kind == CW_OP_FS_READ || kind == CW_OP_FS_WRITE || kind == CW_OP_NET_READ || kind == CW_OP_NET_WRITE;
}

static bool bad_ms(double ms) { return !(ms >= 0) || isinf(ms); }

/* Why latency is invalid, written into why; false when it is valid. */
static bool bad_latency(const cw_latency *l, char *why, size_t size) {
  switch (l->kind) {
  case CW_LATENCY_NONE:
    return false;
  case CW_LATENCY_FIXED:
  case CW_LATENCY_UNIFORM:
  case CW_LATENCY_EXPONENTIAL:
    if (bad_ms(l->ms)) {
      snprintf(why, size, "latency.ms is %g: a latency is a finite number of ms, at least 0", l->ms);
      return true;
    }
    if (l->kind == CW_LATENCY_UNIFORM && (bad_ms(l->max_ms) || l->max_ms < l->ms)) {
      snprintf(why, size, "latency.max_ms is %g: a uniform latency needs a finite max_ms, at least ms (%g)",
               l->max_ms, l->ms);
      return true;
    }
    return false;
  }
  snprintf(why, size, "latency.kind is %d: not a cw_latency_kind", (int)l->kind);
  return true;
}

bool rules_bad_fault(const cw_fault *fault, const char *field, char *why, size_t size) {
  if ((unsigned)fault->kind > CW_FAULT_RESET) {
    snprintf(why, size, "%s.kind is %d: not a cw_fault_kind", field, (int)fault->kind);
    return true;
  }
  if (fault->code > 0) {
    snprintf(why, size, "%s.code is %d: a code is a negative libuv code (UV_EIO), or 0 for UV_EIO", field,
             fault->code);
    return true;
  }
  return false;
}

static bool bad_trigger(const cw_trigger *t, char *why, size_t size) {
  switch (t->kind) {
  case CW_TRIGGER_ALWAYS:
  case CW_TRIGGER_ONCE:
    return false;
  case CW_TRIGGER_NTH:
    if (t->n == 0) {
      snprintf(why, size, "trigger.n is 0: the nth match counts from 1");
      return true;
    }
    return false;
  case CW_TRIGGER_PROBABILITY:
    if (!(t->p >= 0 && t->p <= 1)) {
      snprintf(why, size, "trigger.p is %g: a probability is between 0 and 1", t->p);
      return true;
    }
    return false;
  case CW_TRIGGER_WINDOW:
    if (t->to_ms <= t->from_ms) {
      snprintf(why, size, "trigger.to_ms is %llu: the window ends after from_ms (%llu)",
               (unsigned long long)t->to_ms, (unsigned long long)t->from_ms);
      return true;
    }
    return false;
  }
  snprintf(why, size, "trigger.kind is %d: not a cw_trigger_kind", (int)t->kind);
  return true;
}

bool rules_bad_ops(const char *pattern, const char *field, char *why, size_t size) {
  if (rules_op_kinds(pattern))
    return false;
  snprintf(why, size, "%s \"%s\" matches no operation (names are \"fs.read\", \"net.connect\", ...)", field, pattern);
  return true;
}

static bool bad_spec(const cw_rule_spec *spec, char *why, size_t size) {
  return rules_bad_ops(spec->op, "op", why, size) || bad_latency(&spec->latency, why, size) ||
         rules_bad_fault(&spec->fault, "fault", why, size) || bad_trigger(&spec->trigger, why, size);
}

/* ---- rules ---------------------------------------------------------------------- */

static char *copy_string(char **to, const char *s) {
  if (!s)
    return NULL;
  size_t n = strlen(s) + 1;
  char *copy = memcpy(*to, s, n);
  *to += n;
  return copy;
}

cw_rule *cw_fake_rule_at(cw_harness *h, const cw_rule_spec *spec, const char *file, int line) {
  fakes *f = fakes_of(h, "cw_fake_rule", file, line);
  if (!f)
    return NULL;
  char why[256];
  if (!spec) {
    cw_harness_fail_at(h, file, line, "cw_fake_rule: spec is NULL");
    return NULL;
  }
  if (bad_spec(spec, why, sizeof why)) {
    cw_harness_fail_at(h, file, line, "cw_fake_rule: %s", why);
    return NULL;
  }
  if (!f->rules && !(f->rules = calloc(1, sizeof *f->rules))) {
    cw_harness_fail_at(h, file, line, "cw_fake_rule: out of memory");
    return NULL;
  }
  size_t n_op = spec->op ? strlen(spec->op) + 1 : 0, n_match = spec->match ? strlen(spec->match) + 1 : 0;
  cw_rule *r = calloc(1, sizeof *r + n_op + n_match);
  if (!r) {
    cw_harness_fail_at(h, file, line, "cw_fake_rule: out of memory");
    return NULL;
  }
  char *strings = (char *)(r + 1);
  r->h = h;
  r->spec = *spec;
  r->spec.op = copy_string(&strings, spec->op);
  r->spec.match = copy_string(&strings, spec->match);
  r->kinds = rules_op_kinds(r->spec.op);
  r->literal = r->spec.match ? strcspn(r->spec.match, "*?[\\") : 0;
  if (f->rules->last)
    f->rules->last->next = r;
  else
    f->rules->first = r;
  f->rules->last = r;
  return r;
}

void cw_rule_remove_at(cw_rule *r, const char *file, int line) {
  if (r)
    r->removed = true;
  else if (harness_current)
    cw_harness_fail_at(harness_current, file, line, "cw_rule_remove: r is NULL");
}

uint64_t cw_rule_matches(const cw_rule *r) { return r ? r->matches : 0; }
uint64_t cw_rule_applied(const cw_rule *r) { return r ? r->applied : 0; }

void rules_destroy(fakes *f) {
  if (!f->rules)
    return;
  for (cw_rule *r = f->rules->first, *next; r; r = next) {
    next = r->next;
    free(r);
  }
  free(f->rules);
  f->rules = NULL;
}

/* ---- plans ------------------------------------------------------------------------ */

static bool trigger_holds(fakes *f, const cw_rule *r) {
  const cw_trigger *t = &r->spec.trigger;
  switch (t->kind) {
  case CW_TRIGGER_NTH:
    return r->matches == t->n;
  case CW_TRIGGER_ONCE:
    return r->matches == 1;
  case CW_TRIGGER_PROBABILITY:
    return fakes_uniform(f) < t->p;
  case CW_TRIGGER_WINDOW: {
    uint64_t now = fakes_now(f);
    return now >= t->from_ms * FAKE_MS && now < t->to_ms * FAKE_MS;
  }
  default:
    return true;
  }
}

static uint64_t ms_to_ns(double ms) {
  double ns = ms * (double)FAKE_MS;
  return ns >= (double)LATENCY_MAX ? LATENCY_MAX : (uint64_t)(ns + 0.5);
}

static uint64_t draw_latency(fakes *f, const cw_latency *l) {
  switch (l->kind) {
  case CW_LATENCY_FIXED:
    return ms_to_ns(l->ms);
  case CW_LATENCY_UNIFORM:
    return ms_to_ns(l->ms + fakes_uniform(f) * (l->max_ms - l->ms));
  case CW_LATENCY_EXPONENTIAL:
    return ms_to_ns(-l->ms * log1p(-fakes_uniform(f)));
  default:
    return 0;
  }
}

/* The fault as the operation takes it: always with a code, SHORT and RESET
 * only where they mean something. */
static cw_fault fault_for(cw_fault fault, cw_op_kind kind) {
  int code = fault.code ? fault.code : UV_EIO;
  switch (fault.kind) {
  case CW_FAULT_NONE:
    return (cw_fault){CW_FAULT_NONE, 0};
  case CW_FAULT_SHORT:
    return (cw_fault){moves_bytes(kind) ? CW_FAULT_SHORT : CW_FAULT_ERROR, code};
  case CW_FAULT_RESET:
    return is_net(kind) ? (cw_fault){CW_FAULT_RESET, UV_ECONNRESET} : (cw_fault){CW_FAULT_ERROR, code};
  default:
    return (cw_fault){fault.kind, code};
  }
}

fake_plan rules_plan(fakes *f, const cw_io_op *op) {
  fake_plan plan = {0, {CW_FAULT_NONE, 0}};
  if (f->rules) {
    char buf[256];
    const char *subject = NULL; /* built for the first rule of op's kind */
    for (cw_rule *r = f->rules->first; r; r = r->next) {
      if (r->removed || !(r->kinds & UINT32_C(1) << op->kind))
        continue;
      if (!subject)
        subject = rules_subject(op, buf, sizeof buf);
      if (!subject_matches(r, subject))
        continue;
      r->matches++;
      if (!trigger_holds(f, r))
        continue;
      r->applied++;
      uint64_t latency = draw_latency(f, &r->spec.latency);
      plan.latency = latency < LATENCY_MAX - plan.latency ? plan.latency + latency : LATENCY_MAX;
      if (plan.fault.kind == CW_FAULT_NONE)
        plan.fault = r->spec.fault;
    }
  }
  sweep_plan(f, op, &plan);
  plan.fault = fault_for(plan.fault, op->kind);
  return plan;
}
