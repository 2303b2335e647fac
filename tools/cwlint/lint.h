/* cwlint's internals: one translation unit being linted, the findings its
 * rules report, and the rules themselves, each over one function
 * definition. The driver (main.c) parses, walks the definitions of the
 * files named, applies suppressions and prints. */
#ifndef CWLINT_LINT_H
#define CWLINT_LINT_H

#include <clang-c/Index.h>
#include <stdbool.h>

typedef struct lint_unit lint_unit;

/* Reports a finding of rule (its name, "await-in-loop") at loc, with a
 * message and a note saying how to fix it. The driver drops it when the
 * rule is disabled or suppressed, and locations outside the files named. */
void lint_report(lint_unit *u, const char *rule, CXSourceLocation loc, const char *message, const char *note);

/* call (a CXCursor_CallExpr) awaits: cw_await / cw_await_at, or a
 * configured await-like function. */
bool lint_is_await(lint_unit *u, CXCursor call);
/* t is a task handle: cw_promise * through typedefs, or a type the project
 * configured as task-returning. */
bool lint_is_task_type(lint_unit *u, CXType t);

/* function, a definition of the file linted, calls an await somewhere. */
bool lint_awaits(lint_unit *u, CXCursor function);

/* fn (a function definition) runs as a task: it is passed to cw_spawn in
 * this translation unit, annotated cw_task (returning cw_result), or named
 * a task in the configuration. */
bool lint_is_task_function(lint_unit *u, CXCursor fn);

/* Helpers shared by the rules. */

/* The function a call calls directly (a CXCursor_FunctionDecl), or a null
 * cursor for a call through a pointer. */
CXCursor lint_callee(lint_unit *u, CXCursor call);
/* That function's name ("cw_sleep_at"), or NULL; kept as long as the unit. */
const char *lint_callee_name(lint_unit *u, CXCursor call);
/* call calls name directly, or its *_at variant: "cw_all" matches both
 * cw_all(...) and cw_all_at(...). */
bool lint_call_is(lint_unit *u, CXCursor call, const char *name);
/* e without the parentheses, implicit conversions and casts around it. */
CXCursor lint_strip(lint_unit *u, CXCursor e);
/* e is a null pointer constant (0, NULL, (void *)0). */
bool lint_is_null(lint_unit *u, CXCursor e);
/* The operator of a CXCursor_BinaryOperator or CompoundAssignOperator ("=",
 * "+=", "&&", ","); "" when it cannot be told (an operator written inside a
 * macro's body). */
const char *lint_operator(lint_unit *u, CXCursor op);
/* Visits the children of parent as clang_visitChildren does (the visitor's
 * Break, Continue and Recurse), from the unit's copy of the tree (tree.c).
 * Returns nonzero when the visitor broke off. */
unsigned lint_visit(lint_unit *u, CXCursor parent, CXCursorVisitor visit, CXClientData data);
/* Up to max children of c into out; returns how many children c has. */
unsigned lint_children(lint_unit *u, CXCursor c, CXCursor *out, unsigned max);
/* The levels of c's subtree, c included (1 for a leaf). */
unsigned lint_height(lint_unit *u, CXCursor c);
/* The rules recurse once per level, on a stack of WORKER_STACK_SIZE (driver.c):
 * functions nested deeper are reported as not linted, and a chain of calls
 * is followed no deeper. */
#define LINT_MAX_DEPTH 10000
/* The body (a CXCursor_CompoundStmt) of a function definition, or a null cursor. */
CXCursor lint_body(lint_unit *u, CXCursor fn);

/* The rules. */
void rule_floating_task(lint_unit *u, CXCursor function);
void rule_await_in_loop(lint_unit *u, CXCursor function);
void rule_sequential_awaits(lint_unit *u, CXCursor function);
void rule_useless_async(lint_unit *u, CXCursor function);
void rule_blocking_call(lint_unit *u, CXCursor function);

#endif
