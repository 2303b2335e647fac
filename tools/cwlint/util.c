/* Memory and string helpers, and the cursor helpers lint.h gives the rules. */
#define _GNU_SOURCE /* vasprintf */
#include "cwlint.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void *xrealloc(void *p, size_t size) {
  p = realloc(p, size ? size : 1);
  if (!p) {
    fputs("cwlint: out of memory\n", stderr);
    exit(2);
  }
  return p;
}

char *xstrndup(const char *s, size_t len) {
  char *d = xrealloc(NULL, len + 1);
  memcpy(d, s, len);
  d[len] = '\0';
  return d;
}

char *xasprintf(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *s;
  int len = vasprintf(&s, fmt, ap);
  va_end(ap);
  if (len < 0) {
    fputs("cwlint: out of memory\n", stderr);
    exit(2);
  }
  return s;
}

bool cxstr_is(CXString cs, const char *s) {
  const char *c = clang_getCString(cs);
  bool same = c && strcmp(c, s) == 0;
  clang_disposeString(cs);
  return same;
}

void names_add(name_list *l, const char *s, size_t len) {
  if (l->n == l->cap) {
    l->cap = l->cap ? l->cap * 2 : 8;
    l->v = xrealloc(l->v, l->cap * sizeof *l->v);
  }
  l->v[l->n++] = xstrndup(s, len);
}

bool names_has(const name_list *l, const char *s) {
  for (size_t i = 0; i < l->n; i++)
    if (strcmp(l->v[i], s) == 0)
      return true;
  return false;
}

void names_free(name_list *l) {
  for (size_t i = 0; i < l->n; i++)
    free(l->v[i]);
  free(l->v);
  *l = (name_list){0};
}

/* Open addressing on clang_hashCursor, probing linearly. */
static size_t slot_of(const cursor_map *m, CXCursor c) {
  size_t i = clang_hashCursor(c) & (m->cap - 1);
  while (m->values[i] && !clang_equalCursors(m->keys[i], c))
    i = (i + 1) & (m->cap - 1);
  return i;
}

int cursors_get(const cursor_map *m, CXCursor c) {
  return m->cap ? m->values[slot_of(m, c)] : 0;
}

void cursors_set(cursor_map *m, CXCursor c, int value) {
  if (2 * (m->n + 1) > m->cap) { /* kept at most half full */
    size_t cap = m->cap ? 2 * m->cap : 16;
    cursor_map bigger = {xrealloc(NULL, cap * sizeof *m->keys), xrealloc(NULL, cap), m->n, cap};
    memset(bigger.values, 0, cap);
    for (size_t i = 0; i < m->cap; i++)
      if (m->values[i]) {
        size_t k = slot_of(&bigger, m->keys[i]);
        bigger.keys[k] = m->keys[i];
        bigger.values[k] = m->values[i];
      }
    cursors_free(m);
    *m = bigger;
  }
  size_t i = slot_of(m, c);
  m->n += !m->values[i];
  m->keys[i] = c;
  m->values[i] = (unsigned char)value;
}

void cursors_free(cursor_map *m) {
  free(m->keys);
  free(m->values);
  *m = (cursor_map){0};
}

/* ---- cursors ---------------------------------------------------------------- */

static enum CXChildVisitResult find_body(CXCursor c, CXCursor parent, CXClientData data) {
  (void)parent;
  if (c.kind == CXCursor_CompoundStmt)
    *(CXCursor *)data = c;
  return CXChildVisit_Continue;
}

CXCursor lint_body(lint_unit *u, CXCursor fn) {
  CXCursor body = clang_getNullCursor();
  lint_visit(u, fn, find_body, &body);
  return body;
}

bool lint_call_is(lint_unit *u, CXCursor call, const char *name) {
  const char *s = lint_callee_name(u, call);
  size_t len = strlen(name);
  return s && strncmp(s, name, len) == 0 && (s[len] == '\0' || strcmp(s + len, "_at") == 0);
}

/* The one expression child of c, or a null cursor (a cast's type is a
 * TypeRef child beside its operand). */
static CXCursor operand(lint_unit *u, CXCursor c) {
  CXCursor kids[4];
  unsigned n = lint_children(u, c, kids, 4);
  for (unsigned i = n < 4 ? n : 4; i-- > 0;)
    if (clang_isExpression(kids[i].kind))
      return kids[i];
  return clang_getNullCursor();
}

CXCursor lint_strip(lint_unit *u, CXCursor e) {
  for (;;) {
    if (e.kind != CXCursor_ParenExpr && e.kind != CXCursor_UnexposedExpr && e.kind != CXCursor_CStyleCastExpr)
      return e;
    CXCursor inner = operand(u, e);
    if (clang_Cursor_isNull(inner))
      return e;
    e = inner;
  }
}

bool lint_is_null(lint_unit *u, CXCursor e) {
  e = lint_strip(u, e);
  if (e.kind != CXCursor_IntegerLiteral)
    return false;
  CXEvalResult r = clang_Cursor_Evaluate(e);
  bool zero = r && clang_EvalResult_getKind(r) == CXEval_Int && clang_EvalResult_getAsLongLong(r) == 0;
  if (r)
    clang_EvalResult_dispose(r);
  return zero;
}

/* loc mapped out of macro expansions, into the file the user wrote. */
static CXSourceLocation file_location(CXTranslationUnit tu, CXSourceLocation loc, unsigned *offset) {
  CXFile file;
  clang_getFileLocation(loc, &file, NULL, NULL, offset);
  return file ? clang_getLocationForOffset(tu, file, *offset) : clang_getNullLocation();
}

const char *lint_operator(lint_unit *u, CXCursor op) {
  static const char *const known[] = {"=",  "+=", "-=", "*=", "/=", "%=", "<<=", ">>=", "&=", "^=", "|=", ",",
                                      "&&", "||", "==", "!=", "<",  ">",  "<=",  ">=",  "+",  "-",  "*",  "/",
                                      "%",  "<<", ">>", "&",  "|",  "^"};
  CXCursor kids[2];
  if (lint_children(u, op, kids, 2) != 2)
    return "";
  /* The operator is the first token between the operands; inside a macro's
   * body both operands map to the macro's use and nothing lies between. */
  unsigned from, to;
  CXSourceLocation lhs_end = file_location(u->tu, clang_getRangeEnd(clang_getCursorExtent(kids[0])), &from);
  CXSourceLocation rhs_start = file_location(u->tu, clang_getRangeStart(clang_getCursorExtent(kids[1])), &to);
  if (clang_equalLocations(lhs_end, clang_getNullLocation()) || from >= to)
    return "";
  CXToken *toks;
  unsigned n;
  clang_tokenize(u->tu, clang_getRange(lhs_end, rhs_start), &toks, &n);
  const char *found = "";
  for (unsigned i = 0; i < n && !*found; i++) {
    if (clang_getTokenKind(toks[i]) != CXToken_Punctuation)
      continue;
    CXString s = clang_getTokenSpelling(u->tu, toks[i]);
    for (size_t k = 0; k < sizeof known / sizeof *known; k++)
      if (strcmp(clang_getCString(s), known[k]) == 0)
        found = known[k];
    clang_disposeString(s);
    break;
  }
  clang_disposeTokens(u->tu, toks, n);
  return found;
}

/* ---- types and calls the rules ask about -------------------------------------- */

static enum CXChildVisitResult find_annotation(CXCursor c, CXCursor parent, CXClientData data) {
  (void)parent;
  const char **name = data;
  if (c.kind == CXCursor_AnnotateAttr && cxstr_is(clang_getCursorSpelling(c), *name)) {
    *name = NULL;
    return CXChildVisit_Break;
  }
  return CXChildVisit_Continue;
}

bool lint_has_annotation(CXCursor fn, const char *name) {
  clang_visitChildren(fn, find_annotation, &name);
  return name == NULL;
}

/* s with "const ", "volatile ", "struct " and blanks left out, for
 * comparing a configured type name with clang's spelling. */
static void type_key(const char *s, char *out, size_t size) {
  static const char *const skip[] = {"const ", "volatile ", "struct ", "union ", "enum "};
  size_t o = 0;
  while (*s && o + 1 < size) {
    bool skipped = false;
    for (size_t k = 0; k < sizeof skip / sizeof *skip && !skipped; k++) {
      size_t len = strlen(skip[k]);
      if (strncmp(s, skip[k], len) == 0 && (o == 0 || !isalnum((unsigned char)out[o - 1]))) {
        s += len;
        skipped = true;
      }
    }
    if (skipped)
      continue;
    if (!isspace((unsigned char)*s))
      out[o++] = *s;
    s++;
  }
  out[o] = '\0';
}

static bool configured_name(const name_list *l, CXType t) {
  CXString cs = clang_getTypeSpelling(t);
  char key[256];
  type_key(clang_getCString(cs), key, sizeof key);
  clang_disposeString(cs);
  for (size_t i = 0; i < l->n; i++) {
    char want[256];
    type_key(l->v[i], want, sizeof want);
    if (strcmp(key, want) == 0)
      return true;
  }
  return false;
}

/* t or, through its typedefs, what it names is one of the configured types;
 * a pointer to one of them is too. */
static bool configured_type(const name_list *l, CXType t) {
  for (int depth = 0; depth < 16; depth++) {
    if (configured_name(l, t))
      return true;
    if (t.kind == CXType_Elaborated)
      t = clang_Type_getNamedType(t);
    else if (t.kind == CXType_Typedef)
      t = clang_getTypedefDeclUnderlyingType(clang_getTypeDeclaration(t));
    else if (t.kind == CXType_Pointer)
      t = clang_getPointeeType(t);
    else
      return false;
  }
  return false;
}

bool lint_is_task_type(lint_unit *u, CXType t) {
  CXType c = clang_getCanonicalType(t);
  if (c.kind == CXType_Pointer) {
    CXCursor d = clang_getTypeDeclaration(clang_getPointeeType(c));
    if (d.kind == CXCursor_StructDecl && cxstr_is(clang_getCursorSpelling(d), "cw_promise"))
      return true;
  }
  return u->opt->config.task_types.n && configured_type(&u->opt->config.task_types, t);
}

bool lint_is_await(lint_unit *u, CXCursor call) {
  const char *s = lint_callee_name(u, call);
  return s && (strcmp(s, "cw_await_at") == 0 || names_has(&u->opt->config.awaits, s));
}

bool lint_is_task_function(lint_unit *u, CXCursor fn) {
  if (cursors_get(&u->roles, clang_getCanonicalCursor(fn)) & ROLE_TASK)
    return true;
  CXString cs = clang_getCursorSpelling(fn);
  bool configured = names_has(&u->opt->config.tasks, clang_getCString(cs));
  clang_disposeString(cs);
  if (configured)
    return true;
  return cxstr_is(clang_getTypeSpelling(clang_getResultType(clang_getCursorType(fn))), "cw_result") &&
         lint_has_annotation(fn, "cw_task");
}
