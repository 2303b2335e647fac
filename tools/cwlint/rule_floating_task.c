/* floating-task: a promise (cw_promise * through typedefs, macros and
 * function pointers, or a configured task handle) whose reference is never
 * consumed as DESIGN.md's ownership rules say.
 *
 * One walk over the body carries whether the value of each expression is
 * consumed: passed to a function that takes it (any function but cw_ref and
 * the inspectors taking const pointers: an unknown one may keep it),
 * returned, or stored. A call producing a promise in a place whose value is
 * dropped (an expression statement, a cast to void, a condition, an operand
 * of ?:, ",", &&, ||) is reported there, unless its function takes a
 * promise as a pointer to const and so returns it borrowed. Locals holding
 * promises are followed path-insensitively: one never consumed anywhere is
 * reported where it was given its promise, one assigned again in the same
 * block with no consuming use between where it is overwritten. */
#include "cwlint.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define RULE "floating-task"

typedef enum { DROP, CONSUME, VOID_CAST } use_ctx;

#define NO_LOOP UINT_MAX

typedef enum { EV_STORE, EV_STORE_PROMISE, EV_CONSUME } event_kind;

typedef struct event {
  event_kind kind;
  unsigned offset, end; /* where it starts and ends in the file */
  unsigned block;       /* the block of the statement it is in */
  bool stmt_level;      /* a store that is a statement of that block by itself */
  unsigned loop;        /* where the outermost loop around it starts, or NO_LOOP */
  CXSourceLocation loc;
} event;

typedef struct local {
  CXCursor decl;
  event *ev;
  size_t n, cap;
} local;

typedef struct walker {
  lint_unit *u;
  local *locals;
  size_t n, cap;
  unsigned blocks; /* blocks numbered so far */
  unsigned block;  /* the block being walked */
  CXCursor stmt;   /* the statement of that block being walked */
  bool decl_stmt;  /* walking a declaration that is that statement */
  unsigned loop;   /* where the outermost loop being walked starts, or NO_LOOP */
} walker;

static void walk(walker *w, CXCursor c, use_ctx x);

static unsigned offset_of(CXSourceLocation loc) {
  unsigned off;
  clang_getFileLocation(loc, NULL, NULL, NULL, &off);
  return off;
}

static int find_local(walker *w, CXCursor decl) {
  for (size_t i = 0; i < w->n; i++)
    if (clang_equalCursors(w->locals[i].decl, decl))
      return (int)i;
  return -1;
}

/* Follows decl when it can hold a promise: a pointer or a task handle. */
static int add_local(walker *w, CXCursor decl) {
  CXType t = clang_getCursorType(decl);
  if (clang_getCanonicalType(t).kind != CXType_Pointer && !lint_is_task_type(w->u, t))
    return -1;
  if (w->n == w->cap) {
    w->cap = w->cap ? w->cap * 2 : 8;
    w->locals = xrealloc(w->locals, w->cap * sizeof *w->locals);
  }
  w->locals[w->n] = (local){decl, NULL, 0, 0};
  return (int)w->n++;
}

static void add_event(walker *w, int li, event e) {
  local *l = &w->locals[li];
  if (l->n == l->cap) {
    l->cap = l->cap ? l->cap * 2 : 8;
    l->ev = xrealloc(l->ev, l->cap * sizeof *l->ev);
  }
  l->ev[l->n++] = e;
}

/* callee takes a promise as a pointer to const: what it returns is that
 * promise, borrowed as strchr returns its argument (the core's
 * promise_check), not a reference of its own. */
static bool returns_borrowed(lint_unit *u, CXCursor callee) {
  CXType ft = clang_getCursorType(callee);
  int params = clang_getNumArgTypes(ft);
  for (int i = 0; i < params; i++) {
    CXType t = clang_getArgType(ft, (unsigned)i), c = clang_getCanonicalType(t);
    if (c.kind == CXType_Pointer && clang_isConstQualifiedType(clang_getPointeeType(c)) && lint_is_task_type(u, t))
      return true;
  }
  return false;
}

/* call returns a promise: by its type (unless borrowed), or a function
 * annotated cw_task or configured as task-returning. */
static bool produces_task(lint_unit *u, CXCursor call) {
  CXCursor callee = lint_callee(u, call);
  if (lint_is_task_type(u, clang_getCursorType(call)))
    return clang_Cursor_isNull(callee) || !returns_borrowed(u, callee);
  /* Handles are pointers: other calls need no look at the declaration. */
  if (clang_Cursor_isNull(callee) ||
      (!u->opt->config.task_returning.n && clang_getCanonicalType(clang_getCursorType(call)).kind != CXType_Pointer))
    return false;
  return names_has(&u->opt->config.task_returning, lint_callee_name(u, call)) ||
         (lint_has_annotation(callee, "cw_task") &&
          !cxstr_is(clang_getTypeSpelling(clang_getResultType(clang_getCursorType(callee))), "cw_result"));
}

static bool local_has_promise(walker *w, int li) {
  for (size_t i = 0; li >= 0 && i < w->locals[li].n; i++)
    if (w->locals[li].ev[i].kind == EV_STORE_PROMISE)
      return true;
  return false;
}

/* value (stored into a local) is a fresh promise or one moved from a local. */
static bool holds_promise(walker *w, CXCursor value) {
  value = lint_strip(w->u, value);
  CXCursor kids[3];
  switch (value.kind) {
  case CXCursor_CallExpr:
    return produces_task(w->u, value);
  case CXCursor_ConditionalOperator:
    return lint_children(w->u, value, kids, 3) == 3 && (holds_promise(w, kids[1]) || holds_promise(w, kids[2]));
  case CXCursor_BinaryOperator:
    return lint_children(w->u, value, kids, 2) == 2 && strcmp(lint_operator(w->u, value), ",") == 0 &&
           holds_promise(w, kids[1]);
  case CXCursor_DeclRefExpr:
    return local_has_promise(w, find_local(w, clang_getCursorReferenced(value)));
  default:
    return false;
  }
}

static void record_store(walker *w, int li, CXCursor at, CXCursor value, bool stmt_level) {
  CXSourceRange r = clang_getCursorExtent(at);
  add_event(w, li,
            (event){holds_promise(w, value) ? EV_STORE_PROMISE : EV_STORE, offset_of(clang_getRangeStart(r)),
                    offset_of(clang_getRangeEnd(r)), w->block, stmt_level, w->loop, clang_getCursorLocation(at)});
}

typedef struct walk_arg {
  walker *w;
  use_ctx x;
} walk_arg;

static enum CXChildVisitResult walk_child(CXCursor c, CXCursor parent, CXClientData data) {
  (void)parent;
  walk_arg *a = data;
  walk(a->w, c, a->x);
  return CXChildVisit_Continue;
}

static void walk_children(walker *w, CXCursor c, use_ctx x) {
  walk_arg a = {w, x};
  lint_visit(w->u, c, walk_child, &a);
}

typedef struct block_arg {
  walker *w;
  unsigned block, left;
  use_ctx last; /* a statement expression's value is its last statement's */
} block_arg;

static enum CXChildVisitResult walk_statement(CXCursor c, CXCursor parent, CXClientData data) {
  (void)parent;
  block_arg *b = data;
  b->w->block = b->block;
  b->w->stmt = c;
  walk(b->w, c, --b->left == 0 ? b->last : DROP);
  return CXChildVisit_Continue;
}

static void walk_block(walker *w, CXCursor c, use_ctx last) {
  unsigned saved_block = w->block;
  CXCursor saved_stmt = w->stmt;
  block_arg b = {w, ++w->blocks, lint_children(w->u, c, NULL, 0), last};
  lint_visit(w->u, c, walk_statement, &b);
  w->block = saved_block;
  w->stmt = saved_stmt;
}

static void walk_var(walker *w, CXCursor var) {
  int li = clang_Cursor_hasVarDeclGlobalStorage(var) == 0 ? add_local(w, var) : -1;
  CXCursor init = clang_Cursor_getVarDeclInitializer(var);
  if (clang_Cursor_isNull(init))
    return;
  bool stmt_level = w->decl_stmt;
  walk(w, init, CONSUME);
  if (li >= 0)
    record_store(w, li, var, init, stmt_level);
}

/* The pointer or task handle an expression gives, whose operator matters. */
static bool may_be_task(lint_unit *u, CXCursor e) {
  CXType t = clang_getCursorType(e);
  return clang_getCanonicalType(t).kind == CXType_Pointer || lint_is_task_type(u, t);
}

static void walk_binary(walker *w, CXCursor c, use_ctx x) {
  CXCursor kids[2];
  if (lint_children(w->u, c, kids, 2) != 2) {
    walk_children(w, c, DROP);
    return;
  }
  const char *op = may_be_task(w->u, kids[0]) || may_be_task(w->u, kids[1]) ? lint_operator(w->u, c) : "+";
  if (strcmp(op, "=") == 0) {
    CXCursor target = lint_strip(w->u, kids[0]);
    int li = target.kind == CXCursor_DeclRefExpr ? find_local(w, clang_getCursorReferenced(target)) : -1;
    walk(w, kids[1], CONSUME);
    if (li >= 0)
      record_store(w, li, c, kids[1], clang_equalCursors(c, w->stmt));
    else
      walk(w, kids[0], DROP); /* stored into memory: consumed */
  } else if (strcmp(op, ",") == 0) {
    walk(w, kids[0], DROP);
    walk(w, kids[1], x);
  } else if (!*op) { /* written inside a macro: assume its value is used */
    walk_children(w, c, CONSUME);
  } else {
    walk_children(w, c, DROP);
  }
}

/* &x lets x escape: its type is a pointer to its operand's. */
static bool address_of(lint_unit *u, CXCursor op) {
  CXCursor kid;
  if (lint_children(u, op, &kid, 1) != 1)
    return false;
  CXType t = clang_getCanonicalType(clang_getCursorType(op));
  return t.kind == CXType_Pointer &&
         clang_equalTypes(clang_getPointeeType(t), clang_getCanonicalType(clang_getCursorType(kid)));
}

/* A call consumes argument i unless it is cw_ref or the parameter is a
 * pointer to const (cw_promise_state and the other inspectors). Calls
 * through pointers and unknown functions may keep it: consumed. */
static bool argument_consumed(lint_unit *u, CXCursor call, unsigned i) {
  CXCursor callee = lint_callee(u, call);
  if (clang_Cursor_isNull(callee))
    return true;
  const char *name = lint_callee_name(u, call);
  if (strcmp(name, "cw_ref_at") == 0 || strcmp(name, "cw_ref") == 0)
    return false;
  CXType ft = clang_getCursorType(callee);
  int params = clang_getNumArgTypes(ft);
  if (params < 0 || i >= (unsigned)params)
    return true;
  CXType pt = clang_getCanonicalType(clang_getArgType(ft, i));
  return pt.kind != CXType_Pointer || !clang_isConstQualifiedType(clang_getPointeeType(pt));
}

typedef struct call_arg {
  walker *w;
  CXCursor call;
  unsigned index; /* 0 is the callee expression, then the arguments */
} call_arg;

static enum CXChildVisitResult walk_call_child(CXCursor c, CXCursor parent, CXClientData data) {
  (void)parent;
  call_arg *a = data;
  /* Only a pointer argument can be a promise or a local holding one; one
   * converted to an integer has escaped. */
  use_ctx x = DROP;
  if (a->index)
    x = !may_be_task(a->w->u, c) || argument_consumed(a->w->u, a->call, a->index - 1) ? CONSUME : DROP;
  walk(a->w, c, x);
  a->index++;
  return CXChildVisit_Continue;
}

static void walk_call(walker *w, CXCursor c, use_ctx x) {
  call_arg a = {w, c, 0};
  lint_visit(w->u, c, walk_call_child, &a);
  if (x == CONSUME || !produces_task(w->u, c))
    return;
  char *name = unit_spelled_name(w->u, c);
  char *message = x == VOID_CAST ? xasprintf("promise returned by '%s' is dropped by a cast to void", name ? name : "")
                                 : xasprintf("promise returned by '%s' is dropped", name ? name : "");
  lint_report(w->u, RULE, clang_getRangeStart(clang_getCursorExtent(c)), message,
              x == VOID_CAST ? "a cast to void does not consume it: hand it off with cw_detach(), or await it "
                               "with cw_await()"
                             : "await it with cw_await(), or hand it off with cw_detach()");
  free(message);
  free(name);
}

static void use_local(walker *w, CXCursor ref, use_ctx x) {
  if (x != CONSUME || !w->n)
    return;
  int li = find_local(w, clang_getCursorReferenced(ref));
  if (li >= 0) {
    CXSourceLocation loc = clang_getCursorLocation(ref);
    add_event(w, li, (event){EV_CONSUME, offset_of(loc), offset_of(loc), 0, false, w->loop, loc});
  }
}

static void walk(walker *w, CXCursor c, use_ctx x) {
  CXCursor kids[3];
  switch (c.kind) {
  case CXCursor_CompoundStmt:
    walk_block(w, c, x);
    break;
  case CXCursor_ReturnStmt:
  case CXCursor_InitListExpr:
  case CXCursor_CompoundLiteralExpr:
    walk_children(w, c, CONSUME);
    break;
  case CXCursor_DeclStmt: {
    bool saved = w->decl_stmt;
    w->decl_stmt = clang_equalCursors(c, w->stmt);
    walk_children(w, c, DROP);
    w->decl_stmt = saved;
    break;
  }
  case CXCursor_VarDecl:
    walk_var(w, c);
    break;
  case CXCursor_ForStmt:
  case CXCursor_WhileStmt:
  case CXCursor_DoStmt:
    if (w->loop == NO_LOOP) {
      w->loop = offset_of(clang_getRangeStart(clang_getCursorExtent(c)));
      walk_children(w, c, DROP);
      w->loop = NO_LOOP;
    } else {
      walk_children(w, c, DROP);
    }
    break;
  case CXCursor_ParenExpr:
  case CXCursor_UnexposedExpr:
    walk_children(w, c, x);
    break;
  case CXCursor_CStyleCastExpr:
    walk_children(w, c, clang_getCursorType(c).kind == CXType_Void ? VOID_CAST : x);
    break;
  case CXCursor_ConditionalOperator:
    if (lint_children(w->u, c, kids, 3) == 3) {
      walk(w, kids[0], DROP);
      walk(w, kids[1], x);
      walk(w, kids[2], x);
    }
    break;
  case CXCursor_BinaryOperator:
    walk_binary(w, c, x);
    break;
  case CXCursor_UnaryOperator:
    walk_children(w, c, address_of(w->u, c) ? CONSUME : DROP);
    break;
  case CXCursor_CallExpr:
    walk_call(w, c, x);
    break;
  case CXCursor_DeclRefExpr:
    use_local(w, c, x);
    break;
  default:
    walk_children(w, c, DROP);
    break;
  }
}

static void report_local(walker *w, local *l, const event *at, const char *fmt, const char *note) {
  CXString cs = clang_getCursorSpelling(l->decl);
  char *message = xasprintf(fmt, clang_getCString(cs));
  clang_disposeString(cs);
  lint_report(w->u, RULE, at->loc, message, note);
  free(message);
}

static bool consumed_between(const local *l, unsigned from, unsigned to) {
  for (size_t i = 0; i < l->n; i++)
    if (l->ev[i].kind == EV_CONSUME && l->ev[i].offset > from && l->ev[i].offset <= to)
      return true;
  return false;
}

/* The promise stored by s is consumed later in the text, or anywhere in
 * the loop around it (by the next iteration). */
static bool consumed_after(const local *l, const event *s) {
  for (size_t i = 0; i < l->n; i++)
    if (l->ev[i].kind == EV_CONSUME && (l->ev[i].offset > s->end || (s->loop != NO_LOOP && l->ev[i].offset >= s->loop)))
      return true;
  return false;
}

static void check_local(walker *w, local *l) {
  for (size_t i = 0; i < l->n; i++) {
    const event *s1 = &l->ev[i];
    if (s1->kind != EV_STORE_PROMISE)
      continue;
    if (!consumed_after(l, s1)) {
      report_local(w, l, s1, "promise stored in '%s' is never consumed",
                   "await it with cw_await(), pass it on, or hand it off with cw_detach()");
      continue;
    }
    if (!s1->stmt_level)
      continue;
    size_t j = i + 1;
    while (j < l->n && l->ev[j].kind == EV_CONSUME)
      j++;
    if (j == l->n)
      break;
    const event *s2 = &l->ev[j];
    if (s2->stmt_level && s2->block == s1->block && !consumed_between(l, s1->end, s2->end))
      report_local(w, l, s2, "'%s' is overwritten while it holds a promise not yet consumed",
                   "consume the promise it holds (cw_await(), cw_detach()) before assigning it again");
  }
}

static enum CXChildVisitResult add_parameter(CXCursor c, CXCursor parent, CXClientData data) {
  (void)parent;
  if (c.kind == CXCursor_ParmDecl)
    add_local(data, c);
  return CXChildVisit_Continue;
}

void rule_floating_task(lint_unit *u, CXCursor function) {
  CXCursor body = lint_body(u, function);
  if (clang_Cursor_isNull(body))
    return;
  walker w = {.u = u, .stmt = clang_getNullCursor(), .loop = NO_LOOP};
  lint_visit(u, function, add_parameter, &w);
  walk(&w, body, DROP);
  for (size_t i = 0; i < w.n; i++) {
    check_local(&w, &w.locals[i]);
    free(w.locals[i].ev);
  }
  free(w.locals);
}
