#include "flow.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Makes room for one more item in a growing array; out of memory ends the
 * run (a linter has nothing sensible to do without memory). */
static void *grow(void *items, size_t *cap, size_t n, size_t size) {
  if (n < *cap)
    return items;
  size_t cap2 = *cap ? *cap * 2 : 16;
  items = realloc(items, cap2 * size);
  if (!items) {
    fputs("cwlint: out of memory\n", stderr);
    exit(2);
  }
  *cap = cap2;
  return items;
}

/* The offset of loc in the file, out of macro expansions. */
static unsigned file_offset(CXSourceLocation loc) {
  unsigned offset;
  clang_getFileLocation(loc, NULL, NULL, NULL, &offset);
  return offset;
}

static unsigned start_offset(CXCursor c) {
  return file_offset(clang_getRangeStart(clang_getCursorExtent(c)));
}

bool flow_encloses(CXCursor outer, CXCursor inner) {
  unsigned at = file_offset(clang_getCursorLocation(inner));
  return start_offset(outer) <= at && at < file_offset(clang_getRangeEnd(clang_getCursorExtent(outer)));
}

/* The tokens from a's start to b's start, or none when b does not start
 * after a in the file (both come from a macro's body). */
static CXToken *tokens_between(CXCursor a, CXCursor b, unsigned *n) {
  CXTranslationUnit tu = clang_Cursor_getTranslationUnit(a);
  CXFile file;
  unsigned from_offset, to_offset = start_offset(b);
  CXToken *tokens = NULL;
  *n = 0;
  clang_getFileLocation(clang_getRangeStart(clang_getCursorExtent(a)), &file, NULL, NULL, &from_offset);
  if (file && from_offset < to_offset)
    clang_tokenize(tu,
                   clang_getRange(clang_getLocationForOffset(tu, file, from_offset),
                                  clang_getLocationForOffset(tu, file, to_offset)),
                   &tokens, n);
  return tokens;
}

static bool token_is(CXTranslationUnit tu, CXToken token, const char *spelling) {
  CXString s = clang_getTokenSpelling(tu, token);
  bool is = clang_getTokenKind(token) == CXToken_Punctuation && strcmp(clang_getCString(s), spelling) == 0;
  clang_disposeString(s);
  return is;
}

/* e, a unary operator, is the prefix operator op ("&", "*"). */
static bool prefix_operator_is(lint_unit *u, CXCursor e, const char *op) {
  CXCursor operand;
  unsigned n;
  if (lint_children(u, e, &operand, 1) != 1)
    return false;
  CXToken *tokens = tokens_between(e, operand, &n);
  CXTranslationUnit tu = clang_Cursor_getTranslationUnit(e);
  bool is = n > 0 && token_is(tu, tokens[0], op);
  clang_disposeTokens(tu, tokens, n);
  return is;
}

static bool binary_operator_is(lint_unit *u, CXCursor e, const char *op) {
  return strcmp(lint_operator(u, e), op) == 0;
}

/* The context of a walk over children. */
typedef struct region_walk {
  lint_unit *u;
  flow_region *r;
  flow_taint *reads;
} region_walk;

static bool is_await(lint_unit *u, CXCursor c) {
  return clang_getCursorKind(c) == CXCursor_CallExpr && lint_is_await(u, c);
}

CXCursor flow_await_promise(CXCursor await) {
  return clang_Cursor_getArgument(await, 0);
}

bool flow_awaits_sleep(lint_unit *u, CXCursor await) {
  CXCursor promise = lint_strip(u, flow_await_promise(await));
  return clang_getCursorKind(promise) == CXCursor_CallExpr && lint_call_is(u, promise, "cw_sleep");
}

typedef struct await_search {
  lint_unit *u;
  bool found;
} await_search;

static enum CXChildVisitResult search_await(CXCursor c, CXCursor parent, CXClientData data) {
  await_search *s = data;
  (void)parent;
  s->found = is_await(s->u, c);
  return s->found ? CXChildVisit_Break : CXChildVisit_Recurse;
}

bool flow_has_await(lint_unit *u, CXCursor c) {
  await_search s = {u, is_await(u, c)};
  if (!s.found)
    lint_visit(u, c, search_await, &s);
  return s.found;
}

static bool is_array(CXCursor e) {
  switch (clang_getCanonicalType(clang_getCursorType(e)).kind) {
  case CXType_ConstantArray:
  case CXType_IncompleteArray:
  case CXType_VariableArray:
    return true;
  default:
    return false;
  }
}

/* Appends ".name" of a member expression to p, unless it does not fit:
 * the shorter path then stands for the longer one, which only widens it. */
static void append_field(flow_path *p, CXCursor member) {
  CXString name = clang_getCursorSpelling(member);
  size_t used = strlen(p->fields), len = strlen(clang_getCString(name));
  if (used + 1 + len < sizeof p->fields)
    snprintf(p->fields + used, sizeof p->fields - used, ".%s", clang_getCString(name));
  clang_disposeString(name);
}

static bool lvalue_path(lint_unit *u, CXCursor e, flow_path *p, bool *global, flow_taint *reads);

/* The base of a member, element or pointee: its path, or, when it names no
 * variable, a value read (summed up in reads when given). */
static bool base_path(lint_unit *u, CXCursor base, flow_path *p, bool *global, flow_taint *reads) {
  if (lvalue_path(u, base, p, global, reads))
    return true;
  if (reads)
    flow_reads(u, base, reads);
  return false;
}

/* e names a variable, or a field, element or pointee of one: fills p, and
 * sets *global when the variable is global or static. With reads, what is
 * read on the way outside the path (indices, a base that names no
 * variable) is added to it. */
static bool lvalue_path(lint_unit *u, CXCursor e, flow_path *p, bool *global, flow_taint *reads) {
  CXCursor kid[2];
  e = lint_strip(u, e);
  switch (clang_getCursorKind(e)) {
  case CXCursor_DeclRefExpr: {
    CXCursor var = clang_getCursorReferenced(e);
    enum CXCursorKind kind = clang_getCursorKind(var);
    if (kind != CXCursor_VarDecl && kind != CXCursor_ParmDecl)
      return false;
    p->var = var;
    p->fields[0] = '\0';
    *global = kind == CXCursor_VarDecl && clang_Cursor_hasVarDeclGlobalStorage(var) == 1;
    return true;
  }
  case CXCursor_MemberRefExpr:
    if (lint_children(u, e, kid, 1) != 1 || !base_path(u, kid[0], p, global, reads))
      return false;
    append_field(p, e);
    return true;
  case CXCursor_ArraySubscriptExpr:
    if (lint_children(u, e, kid, 2) != 2)
      return false;
    if (reads)
      flow_reads(u, kid[1], reads);
    return base_path(u, kid[0], p, global, reads);
  case CXCursor_UnaryOperator:
    if (!prefix_operator_is(u, e, "*") || lint_children(u, e, kid, 1) != 1)
      return false;
    return base_path(u, kid[0], p, global, reads);
  default:
    return false;
  }
}

/* One of a and b is the other, or the other followed by more fields. */
static bool fields_overlap(const char *a, const char *b) {
  size_t na = strlen(a), nb = strlen(b), n = na < nb ? na : nb;
  if (memcmp(a, b, n) != 0)
    return false;
  char next = na < nb ? b[n] : a[n];
  return next == '\0' || next == '.';
}

bool flow_taint_has(const flow_taint *t, const flow_path *p) {
  for (size_t i = 0; i < t->npaths; i++)
    if (clang_equalCursors(t->paths[i].var, p->var) && fields_overlap(t->paths[i].fields, p->fields))
      return true;
  return false;
}

/* p is a path of t or a field of one: adding it would say nothing new. */
static bool taint_covers(const flow_taint *t, const flow_path *p) {
  for (size_t i = 0; i < t->npaths; i++) {
    size_t n = strlen(t->paths[i].fields);
    if (clang_equalCursors(t->paths[i].var, p->var) && strncmp(t->paths[i].fields, p->fields, n) == 0 &&
        (p->fields[n] == '\0' || p->fields[n] == '.'))
      return true;
  }
  return false;
}

bool flow_taint_has_await(const flow_taint *t, CXCursor await) {
  for (size_t i = 0; i < t->nawaits; i++)
    if (clang_equalCursors(t->awaits[i], await))
      return true;
  return false;
}

bool flow_taint_meets(const flow_taint *a, const flow_taint *b) {
  for (size_t i = 0; i < a->nawaits; i++)
    if (flow_taint_has_await(b, a->awaits[i]))
      return true;
  for (size_t i = 0; i < a->npaths; i++)
    if (flow_taint_has(b, &a->paths[i]))
      return true;
  return false;
}

static enum CXChildVisitResult read_child(CXCursor c, CXCursor parent, CXClientData data) {
  region_walk *w = data;
  (void)parent;
  flow_reads(w->u, c, w->reads);
  return CXChildVisit_Continue;
}

/* Adds what the children of c read to reads. */
static void child_reads(lint_unit *u, CXCursor c, flow_taint *reads) {
  region_walk w = {.u = u, .reads = reads};
  lint_visit(u, c, read_child, &w);
}

void flow_reads(lint_unit *u, CXCursor e, flow_taint *reads) {
  CXCursor kid[2];
  flow_path p;
  bool global;
  if (clang_Cursor_isNull(e) || clang_getCursorType(e).kind == CXType_Void)
    return; /* no value: (void)cw_await(p) */
  e = lint_strip(u, e);
  switch (clang_getCursorKind(e)) {
  case CXCursor_CallExpr:
    if (is_await(u, e))
      flow_taint_add_await(reads, e);
    break;
  case CXCursor_UnaryExpr:
    return; /* sizeof, _Alignof: the type, not the value */
  case CXCursor_BinaryOperator:
    /* an assignment's value is its right side; a comma drops its left */
    if (lint_children(u, e, kid, 2) == 2 && (binary_operator_is(u, e, "=") || binary_operator_is(u, e, ","))) {
      flow_reads(u, kid[1], reads);
      return;
    }
    break;
  case CXCursor_UnaryOperator: /* a pointee is read like a variable */
    if (!prefix_operator_is(u, e, "*"))
      break;
    /* fall through */
  case CXCursor_DeclRefExpr:
  case CXCursor_MemberRefExpr:
  case CXCursor_ArraySubscriptExpr:
    if (lvalue_path(u, e, &p, &global, reads))
      flow_taint_add_path(reads, &p);
    return;
  default:
    break;
  }
  child_reads(u, e, reads);
}

bool flow_depends(lint_unit *u, const flow_taint *t, CXCursor e) {
  flow_taint reads = {0};
  flow_reads(u, e, &reads);
  bool depends = flow_taint_meets(&reads, t);
  flow_taint_free(&reads);
  return depends;
}

static void push_write(lint_unit *u, flow_region *r, flow_write w) {
  w.pos = r->next_pos++;
  /* an out-parameter depends on what the call is given (it may return void) */
  if (w.out_param)
    child_reads(u, w.src, &w.reads);
  else
    flow_reads(u, w.src, &w.reads);
  r->writes = grow(r->writes, &r->writes_cap, r->nwrites, sizeof *r->writes);
  r->writes[r->nwrites++] = w;
}

static void add_write(lint_unit *u, flow_region *r, CXCursor dst, CXCursor src, bool out_param) {
  flow_write w = {.src = src, .out_param = out_param};
  if (lvalue_path(u, dst, &w.dst, &w.global, NULL))
    push_write(u, r, w);
}

/* A call may write what its pointer arguments point to: &x, or an array. */
static void add_out_params(lint_unit *u, flow_region *r, CXCursor call) {
  int n = clang_Cursor_getNumArguments(call);
  for (int i = 0; i < n; i++) {
    CXCursor arg = lint_strip(u, clang_Cursor_getArgument(call, i)), operand;
    if (clang_getCursorKind(arg) == CXCursor_UnaryOperator && prefix_operator_is(u, arg, "&") &&
        lint_children(u, arg, &operand, 1) == 1)
      add_write(u, r, operand, call, true);
    else if (clang_getCursorKind(arg) == CXCursor_DeclRefExpr && is_array(arg))
      add_write(u, r, arg, call, true);
  }
}

static void region_node(lint_unit *u, flow_region *r, CXCursor c);

static enum CXChildVisitResult region_child(CXCursor c, CXCursor parent, CXClientData data) {
  region_walk *w = data;
  (void)parent;
  region_node(w->u, w->r, c);
  return CXChildVisit_Continue;
}

/* Children first: a write or an await happens once its operands are evaluated. */
static void region_node(lint_unit *u, flow_region *r, CXCursor c) {
  region_walk w = {.u = u, .r = r};
  CXCursor kid[2];
  lint_visit(u, c, region_child, &w);
  switch (clang_getCursorKind(c)) {
  case CXCursor_BinaryOperator:
    if (lint_children(u, c, kid, 2) == 2 && binary_operator_is(u, c, "="))
      add_write(u, r, kid[0], kid[1], false);
    break;
  case CXCursor_CompoundAssignOperator:
    if (lint_children(u, c, kid, 1) >= 1)
      add_write(u, r, kid[0], c, false);
    break;
  case CXCursor_VarDecl: {
    CXCursor init = clang_Cursor_getVarDeclInitializer(c);
    if (!clang_Cursor_isNull(init))
      push_write(u, r, (flow_write){.dst = {.var = c}, .src = init,
                                    .global = clang_Cursor_hasVarDeclGlobalStorage(c) == 1});
    break;
  }
  case CXCursor_CallExpr:
    if (is_await(u, c)) {
      r->awaits = grow(r->awaits, &r->awaits_cap, r->nawaits, sizeof *r->awaits);
      r->awaits[r->nawaits++] = (flow_await){c, r->next_pos++};
    }
    add_out_params(u, r, c);
    break;
  default:
    break;
  }
}

void flow_region_add(lint_unit *u, flow_region *r, CXCursor c) {
  if (!clang_Cursor_isNull(c))
    region_node(u, r, c);
}

void flow_region_free(flow_region *r) {
  for (size_t i = 0; i < r->nwrites; i++)
    flow_taint_free(&r->writes[i].reads);
  free(r->writes);
  free(r->awaits);
  *r = (flow_region){0};
}

void flow_taint_add_await(flow_taint *t, CXCursor await) {
  t->awaits = grow(t->awaits, &t->awaits_cap, t->nawaits, sizeof *t->awaits);
  t->awaits[t->nawaits++] = await;
}

void flow_taint_add_path(flow_taint *t, const flow_path *p) {
  t->paths = grow(t->paths, &t->paths_cap, t->npaths, sizeof *t->paths);
  t->paths[t->npaths++] = *p;
}

void flow_taint_close(flow_taint *t, const flow_region *r, uint64_t limit) {
  bool changed = true;
  while (changed) {
    changed = false;
    for (size_t i = 0; i < r->nwrites; i++) {
      const flow_write *w = &r->writes[i];
      if (w->pos < limit && !taint_covers(t, &w->dst) && flow_taint_meets(&w->reads, t)) {
        flow_taint_add_path(t, &w->dst);
        changed = true;
      }
    }
  }
}

void flow_taint_widen(flow_taint *t, const flow_region *r, uint64_t limit) {
  bool changed = true;
  while (changed) {
    changed = false;
    for (size_t i = 0; i < r->nwrites; i++) {
      const flow_write *w = &r->writes[i];
      if (w->pos >= limit || !flow_taint_has(t, &w->dst))
        continue;
      for (size_t k = 0; k < w->reads.npaths; k++)
        if (!taint_covers(t, &w->reads.paths[k])) {
          flow_taint_add_path(t, &w->reads.paths[k]);
          changed = true;
        }
    }
  }
}

void flow_taint_free(flow_taint *t) {
  free(t->awaits);
  free(t->paths);
  *t = (flow_taint){0};
}

void flow_for_parts(lint_unit *u, CXCursor for_stmt, CXCursor *init, CXCursor *cond, CXCursor *inc, CXCursor *body) {
  CXCursor kid[4], *parts[3] = {init, cond, inc};
  unsigned n = lint_children(u, for_stmt, kid, 4), ntokens, nsemi = 0, semi[2];
  *init = *cond = *inc = *body = clang_getNullCursor();
  if (n == 0 || n > 4)
    return;
  *body = kid[n - 1];
  /* the two semicolons of the header, at depth 1 inside its parentheses */
  CXTranslationUnit tu = clang_Cursor_getTranslationUnit(for_stmt);
  CXToken *tokens = tokens_between(for_stmt, *body, &ntokens);
  for (unsigned i = 1, depth = 0; i < ntokens && nsemi < 2; i++) {
    if (token_is(tu, tokens[i], "("))
      depth++;
    else if (token_is(tu, tokens[i], ")") && --depth == 0)
      break;
    else if (token_is(tu, tokens[i], ";") && depth == 1)
      semi[nsemi++] = file_offset(clang_getTokenLocation(tu, tokens[i]));
  }
  clang_disposeTokens(tu, tokens, ntokens);
  for (unsigned k = 0; k + 1 < n; k++) {
    unsigned part;
    if (nsemi == 2) {
      unsigned at = start_offset(kid[k]);
      part = at < semi[0] ? 0 : at < semi[1] ? 1 : 2;
    } else {
      part = 3 - (n - 1) + k; /* a for written by a macro: take its parts as all present */
    }
    *parts[part] = kid[k];
  }
}
