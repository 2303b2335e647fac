/* useless-async: a task function that never awaits and never follows a
 * promise runs to its end at once: the task's stack and switches buy
 * nothing. Awaits in functions it calls (defined in the same file) count:
 * a task suspends wherever on its stack cw_await is called. */
#include "cwlint.h"

#include <stdlib.h>

static bool suspends(lint_unit *u, CXCursor def, unsigned depth);

typedef struct scan {
  lint_unit *u;
  unsigned depth; /* calls followed to get here */
  bool found;
} scan;

static enum CXChildVisitResult find_suspension(CXCursor c, CXCursor parent, CXClientData data) {
  (void)parent;
  scan *s = data;
  if (c.kind != CXCursor_CallExpr)
    return CXChildVisit_Recurse;
  CXCursor callee = lint_callee(s->u, c);
  CXCursor def = clang_Cursor_isNull(callee) ? callee : clang_getCursorDefinition(callee);
  if (lint_is_await(s->u, c) || lint_call_is(s->u, c, "cw_follow") ||
      (!clang_Cursor_isNull(def) && suspends(s->u, def, s->depth + 1))) {
    s->found = true;
    return CXChildVisit_Break;
  }
  return CXChildVisit_Recurse;
}

/* Values in lint_unit.suspends. */
enum { QUIET = 1, SUSPENDS };

static bool suspends(lint_unit *u, CXCursor def, unsigned depth) {
  if (depth > LINT_MAX_DEPTH)
    return true; /* too long a chain to follow: say nothing rather than guess */
  CXCursor canon = clang_getCanonicalCursor(def);
  int known = cursors_get(&u->suspends, canon);
  if (known)
    return known == SUSPENDS;
  cursors_set(&u->suspends, canon, QUIET); /* a recursive call adds nothing */
  scan s = {u, depth, false};
  lint_visit(u, def, find_suspension, &s);
  if (s.found)
    cursors_set(&u->suspends, canon, SUSPENDS);
  return s.found;
}

void rule_useless_async(lint_unit *u, CXCursor function) {
  if (!lint_is_task_function(u, function) || suspends(u, function, 0))
    return;
  CXString cs = clang_getCursorSpelling(function);
  char *message = xasprintf("task function '%s' never awaits or follows a promise", clang_getCString(cs));
  clang_disposeString(cs);
  lint_report(u, "useless-async", clang_getCursorLocation(function), message,
              "call it as a plain function (cw_resolved() makes its promise), or await the work it starts");
  free(message);
}
