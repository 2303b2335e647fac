/* await-in-loop: a cw_await in a loop's condition, body or update makes the
 * iterations wait one after another. Loops that are sequential by necessity
 * are left alone; for an await, with T the values its result reaches through
 * the loop's assignments, a loop is sequential when
 *   (a) its condition or update depends on T (pagination: while (more));
 *   (b) a return, a goto out of it or a break of it is decided on T (retry,
 *       early exit);
 *   (c) a promise it awaits is created from a T value written later in the
 *       iteration, that is by the previous one (a cursor);
 *   or when it awaits a cw_sleep (it is paced on purpose).
 * An await is reported once, for the innermost enclosing loop that is not
 * sequential: a retry loop inside a loop over items still runs the items
 * one after another. */
#include "flow.h"

#include <stdio.h>

typedef struct loop {
  CXCursor stmt;
  const char *kind;
  CXCursor cond, inc, body;
  /* filled when the first await in the loop is checked: */
  bool analysed;
  bool paced;         /* it awaits a cw_sleep */
  flow_region region; /* what every iteration runs, in order */
  flow_taint carried; /* values written after an await of the loop that its promise is made from */
} loop;

typedef struct walk {
  lint_unit *u;
  loop loops[64]; /* the loops around the cursor visited, innermost last */
  unsigned depth;
} walk;

/* The parts of l that every iteration runs, in the order they run. */
static void loop_region(lint_unit *u, const loop *l, flow_region *r) {
  bool cond_first = clang_getCursorKind(l->stmt) != CXCursor_DoStmt;
  if (cond_first)
    flow_region_add(u, r, l->cond);
  flow_region_add(u, r, l->body);
  flow_region_add(u, r, l->inc);
  if (!cond_first)
    flow_region_add(u, r, l->cond);
}

typedef struct exit_search {
  lint_unit *u;
  const flow_taint *t;
  CXCursor loop;
  bool decided;     /* inside an if or switch whose condition depends on t */
  bool breaks_loop; /* a break here leaves the loop (no inner loop or switch) */
  bool found;
} exit_search;

static void search_exit(exit_search *s, CXCursor c);

static enum CXChildVisitResult exit_child(CXCursor c, CXCursor parent, CXClientData data) {
  exit_search *s = data;
  (void)parent;
  search_exit(s, c);
  return s->found ? CXChildVisit_Break : CXChildVisit_Continue;
}

/* Searches c itself (children: its children) with a context of its own. */
static bool search_in(const exit_search *s, CXCursor c, bool children, bool decided, bool breaks_loop) {
  exit_search inner = *s;
  inner.decided = decided;
  inner.breaks_loop = breaks_loop;
  if (children)
    lint_visit(s->u, c, exit_child, &inner);
  else
    search_exit(&inner, c);
  return inner.found;
}

static bool leaves_loop(lint_unit *u, CXCursor goto_stmt, CXCursor loop) {
  CXCursor label;
  if (lint_children(u, goto_stmt, &label, 1) != 1)
    return true;
  CXCursor target = clang_getCursorReferenced(label);
  return clang_Cursor_isNull(target) || !flow_encloses(loop, target);
}

/* (b): c, or a statement in it, leaves the loop on a decision that
 * depends on the await. */
static void search_exit(exit_search *s, CXCursor c) {
  CXCursor kid[3];
  enum CXCursorKind kind = clang_getCursorKind(c);
  switch (kind) {
  case CXCursor_ReturnStmt:
    s->found = s->decided;
    return;
  case CXCursor_BreakStmt:
    s->found = s->decided && s->breaks_loop;
    return;
  case CXCursor_GotoStmt:
    s->found = s->decided && leaves_loop(s->u, c, s->loop);
    return;
  case CXCursor_IfStmt:
  case CXCursor_SwitchStmt: {
    unsigned n = lint_children(s->u, c, kid, 3);
    if (n < 2 || n > 3)
      return;
    bool decided = s->decided || flow_depends(s->u, s->t, kid[0]);
    bool breaks_loop = s->breaks_loop && kind == CXCursor_IfStmt;
    for (unsigned i = 1; i < n && !s->found; i++)
      s->found = search_in(s, kid[i], false, decided, breaks_loop);
    return;
  }
  case CXCursor_ForStmt:
  case CXCursor_WhileStmt:
  case CXCursor_DoStmt:
    s->found = search_in(s, c, true, s->decided, false);
    return;
  default:
    if (!clang_isExpression(kind))
      lint_visit(s->u, c, exit_child, s);
    return;
  }
}

/* Fills the parts of l that do not depend on the await checked. (c): for
 * each await, the values its promise is made from, through the writes of
 * the iteration before it; those written after it come from the previous
 * iteration. */
static void analyse(lint_unit *u, loop *l) {
  l->analysed = true;
  loop_region(u, l, &l->region);
  const flow_region *r = &l->region;
  for (size_t i = 0; i < r->nawaits; i++) {
    const flow_await *b = &r->awaits[i];
    flow_taint sources = {0};
    l->paced = l->paced || flow_awaits_sleep(u, b->call);
    flow_reads(u, flow_await_promise(b->call), &sources);
    flow_taint_widen(&sources, r, b->pos);
    for (size_t k = 0; k < r->nwrites; k++)
      if (r->writes[k].pos > b->pos && flow_taint_has(&sources, &r->writes[k].dst))
        flow_taint_add_path(&l->carried, &r->writes[k].dst);
    flow_taint_free(&sources);
  }
}

/* The loop l must run its iterations one after another for await. */
static bool sequential(lint_unit *u, loop *l, CXCursor await) {
  if (!l->analysed)
    analyse(u, l);
  if (l->paced)
    return true;
  flow_taint t = {0};
  flow_taint_add_await(&t, await);
  flow_taint_close(&t, &l->region, UINT64_MAX);
  exit_search s = {u, &t, l->stmt, false, true, false};
  search_exit(&s, l->body);
  bool necessary = flow_depends(u, &t, l->cond) || flow_depends(u, &t, l->inc) || s.found ||
                   flow_taint_meets(&l->carried, &t);
  flow_taint_free(&t);
  return necessary;
}

static void check_await(walk *w, CXCursor await) {
  for (unsigned i = w->depth; i-- > 0;) {
    loop *l = &w->loops[i];
    if (sequential(w->u, l, await))
      continue;
    char message[96];
    snprintf(message, sizeof message, "cw_await inside a %s loop runs the iterations one after another", l->kind);
    lint_report(w->u, "await-in-loop", clang_getCursorLocation(await), message,
                "start them all, then wait once: cw_all() over the promises, or cw_map() with a concurrency limit");
    return;
  }
}

static void visit(walk *w, CXCursor c);

static enum CXChildVisitResult visit_child(CXCursor c, CXCursor parent, CXClientData data) {
  (void)parent;
  visit(data, c);
  return CXChildVisit_Continue;
}

static void visit_part(walk *w, CXCursor c) {
  if (!clang_Cursor_isNull(c))
    visit(w, c);
}

static void visit(walk *w, CXCursor c) {
  CXCursor kid[2], init;
  loop l = {.stmt = c, .cond = clang_getNullCursor(), .inc = clang_getNullCursor()};
  switch (clang_getCursorKind(c)) {
  case CXCursor_ForStmt:
    l.kind = "for";
    flow_for_parts(w->u, c, &init, &l.cond, &l.inc, &l.body);
    visit_part(w, init); /* runs once, before the loop */
    break;
  case CXCursor_WhileStmt:
    if (lint_children(w->u, c, kid, 2) != 2)
      return;
    l.kind = "while";
    l.cond = kid[0];
    l.body = kid[1];
    break;
  case CXCursor_DoStmt:
    if (lint_children(w->u, c, kid, 2) != 2)
      return;
    l.kind = "do-while";
    l.body = kid[0];
    l.cond = kid[1];
    break;
  case CXCursor_CallExpr:
    if (clang_getCursorKind(c) == CXCursor_CallExpr && lint_is_await(w->u, c))
      check_await(w, c);
    /* fall through */
  default:
    lint_visit(w->u, c, visit_child, w);
    return;
  }
  if (w->depth == sizeof w->loops / sizeof w->loops[0] || clang_Cursor_isNull(l.body))
    return; /* nested past any sensible depth */
  w->loops[w->depth++] = l;
  visit_part(w, l.cond);
  visit_part(w, l.body);
  visit_part(w, l.inc);
  w->depth--;
  flow_region_free(&w->loops[w->depth].region);
  flow_taint_free(&w->loops[w->depth].carried);
}

void rule_await_in_loop(lint_unit *u, CXCursor function) {
  walk w = {.u = u};
  if (lint_awaits(u, function))
    visit(&w, function);
}
