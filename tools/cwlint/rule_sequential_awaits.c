/* sequential-awaits: awaits one after another in a block whose promises do
 * not depend on each other (the talk's readAllUserInfo) could be started
 * together and waited for once with cw_all().
 *
 * The statements of a block are taken in order, with T the values the
 * function's awaits so far reach through assignments. An await joins the
 * current run when its promise is made after the run's previous await (its
 * argument creates it, or is a variable written since) and does not depend
 * on T; one that depends starts a new run. Only dependencies through values
 * count, plus one conservative case: once a statement writes a T value to
 * a global, which any call can read, or passes a call the address of a T
 * variable, the next await counts as dependent.
 * Loops are await-in-loop's: a statement with awaits in a loop, a branch or
 * a block ends the run (its blocks are looked at on their own), and so do a
 * label, which control can enter, and an await of cw_sleep, a pause made on
 * purpose. A run of two or more is reported once, at its second await. */
#include "flow.h"

#include <stdio.h>
#include <string.h>

typedef struct seq {
  lint_unit *u;
  flow_taint t; /* T */
} seq;

typedef struct run {
  size_t count;
  CXCursor second;
  flow_taint fresh; /* the paths written since the run's last await */
  bool barrier;     /* T escaped since then: the next await depends on it */
} run;

static void end_run(seq *q, run *r) {
  if (r->count >= 2) {
    char message[96];
    snprintf(message, sizeof message, "%zu independent cw_await in a row wait one after another", r->count);
    lint_report(q->u, "sequential-awaits", clang_getCursorLocation(r->second), message,
                "start them together and wait once with cw_all()");
  }
  r->count = 0;
}

/* promise is a variable not written since the run's last await: it was
 * started before that await, so waiting for it now costs nothing more. */
static bool started_before(const run *r, CXCursor promise) {
  if (clang_getCursorKind(promise) != CXCursor_DeclRefExpr)
    return false;
  flow_path p = {.var = clang_getCursorReferenced(promise)};
  enum CXCursorKind kind = clang_getCursorKind(p.var);
  return (kind == CXCursor_VarDecl || kind == CXCursor_ParmDecl) && !flow_taint_has(&r->fresh, &p);
}

static void add_member(seq *q, run *r, CXCursor await) {
  CXCursor promise = lint_strip(q->u, flow_await_promise(await));
  if (flow_awaits_sleep(q->u, await)) {
    end_run(q, r);
  } else if (r->barrier || flow_depends(q->u, &q->t, promise)) {
    end_run(q, r);
    r->count = 1;
  } else if (r->count > 0 && started_before(r, promise)) {
    return;
  } else if (++r->count == 2) {
    r->second = await;
  }
  r->fresh.npaths = 0;
  r->barrier = false;
}

/* The part of s that runs whenever s does; a null cursor when none. */
static CXCursor unconditional_part(lint_unit *u, CXCursor s) {
  CXCursor cond;
  enum CXCursorKind kind = clang_getCursorKind(s);
  if (kind == CXCursor_IfStmt || kind == CXCursor_SwitchStmt)
    return lint_children(u, s, &cond, 1) ? cond : clang_getNullCursor();
  if (kind == CXCursor_ReturnStmt || kind == CXCursor_DeclStmt || clang_isExpression(kind))
    return s;
  return clang_getNullCursor();
}

typedef struct conditional_search {
  lint_unit *u;
  bool found;
} conditional_search;

static enum CXChildVisitResult search_conditional(CXCursor c, CXCursor parent, CXClientData data) {
  conditional_search *s = data;
  CXCursor kid[3];
  (void)parent;
  enum CXCursorKind kind = clang_getCursorKind(c);
  if (kind == CXCursor_ConditionalOperator && lint_children(s->u, c, kid, 3) == 3)
    s->found = flow_has_await(s->u, kid[1]) || flow_has_await(s->u, kid[2]);
  else if (kind == CXCursor_BinaryOperator && lint_children(s->u, c, kid, 2) == 2 &&
           (strcmp(lint_operator(s->u, c), "&&") == 0 || strcmp(lint_operator(s->u, c), "||") == 0))
    s->found = flow_has_await(s->u, kid[1]);
  return s->found ? CXChildVisit_Break : CXChildVisit_Recurse;
}

/* e awaits only on some paths: in an arm of ?:, or right of && or ||. */
static bool awaits_conditionally(lint_unit *u, CXCursor e) {
  conditional_search s = {u, false};
  lint_visit(u, e, search_conditional, &s);
  return s.found;
}

static void block(seq *q, CXCursor b);

static void nested_blocks(seq *q, CXCursor s);

static enum CXChildVisitResult nested_child(CXCursor c, CXCursor parent, CXClientData data) {
  (void)parent;
  nested_blocks(data, c);
  return CXChildVisit_Continue;
}

/* The blocks in s, outside loops, are looked at on their own. */
static void nested_blocks(seq *q, CXCursor s) {
  enum CXCursorKind kind = clang_getCursorKind(s);
  if (kind == CXCursor_CompoundStmt)
    block(q, s);
  else if (kind != CXCursor_ForStmt && kind != CXCursor_WhileStmt && kind != CXCursor_DoStmt &&
           !clang_isExpression(kind))
    lint_visit(q->u, s, nested_child, q);
}

/* After s: T takes in what s awaits and writes; the run notes what s
 * wrote and whether T escaped. */
static void account(seq *q, run *r, const flow_region *whole) {
  for (size_t i = 0; i < whole->nawaits; i++)
    if (!flow_taint_has_await(&q->t, whole->awaits[i].call))
      flow_taint_add_await(&q->t, whole->awaits[i].call);
  flow_taint_close(&q->t, whole, UINT64_MAX);
  for (size_t i = 0; i < whole->nwrites; i++) {
    const flow_write *w = &whole->writes[i];
    flow_taint_add_path(&r->fresh, &w->dst);
    if (w->out_param ? flow_taint_has(&q->t, &w->dst) : w->global && flow_depends(q->u, &q->t, w->src))
      r->barrier = true;
  }
}

static void statement(seq *q, run *r, CXCursor s) {
  CXCursor kid[2];
  enum CXCursorKind kind;
  while ((kind = clang_getCursorKind(s)) == CXCursor_LabelStmt || kind == CXCursor_CaseStmt ||
         kind == CXCursor_DefaultStmt) {
    end_run(q, r);
    unsigned n = lint_children(q->u, s, kid, 2);
    if (n == 0 || n > 2)
      return;
    s = kid[n - 1];
  }
  flow_region whole = {0};
  flow_region_add(q->u, &whole, s);
  if (whole.nawaits) {
    CXCursor part = unconditional_part(q->u, s);
    flow_region members = {0};
    if (!clang_Cursor_isNull(part) && !awaits_conditionally(q->u, part))
      flow_region_add(q->u, &members, part);
    for (size_t i = 0; i < members.nawaits; i++) {
      flow_taint_close(&q->t, &members, members.awaits[i].pos);
      add_member(q, r, members.awaits[i].call);
      flow_taint_add_await(&q->t, members.awaits[i].call);
    }
    if (members.nawaits < whole.nawaits) {
      end_run(q, r);
      nested_blocks(q, s);
    }
    flow_region_free(&members);
  }
  account(q, r, &whole);
  flow_region_free(&whole);
}

typedef struct block_walk {
  seq *q;
  run *r;
} block_walk;

static enum CXChildVisitResult block_statement(CXCursor c, CXCursor parent, CXClientData data) {
  block_walk *w = data;
  (void)parent;
  statement(w->q, w->r, c);
  return CXChildVisit_Continue;
}

static void block(seq *q, CXCursor b) {
  run r = {.count = 0};
  block_walk w = {q, &r};
  lint_visit(q->u, b, block_statement, &w);
  end_run(q, &r);
  flow_taint_free(&r.fresh);
}

void rule_sequential_awaits(lint_unit *u, CXCursor function) {
  if (!lint_awaits(u, function))
    return;
  seq q = {.u = u};
  CXCursor body = lint_body(u, function);
  if (clang_Cursor_isNull(body))
    return;
  block(&q, body);
  flow_taint_free(&q.t);
}
