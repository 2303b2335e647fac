/* Value flow inside one function, shared by the rules about awaits
 * (await-in-loop, sequential-awaits): which variables an await's result
 * reaches through assignments, and whether an expression depends on it.
 *
 * The analysis is deliberately simple: a value is a variable or a field
 * path of one ("page.cursor"); array elements and pointees collapse onto
 * their variable; an assignment's destination depends on everything its
 * value reads, calls included, and a call's &x arguments depend on its
 * other arguments. */
#ifndef CWLINT_FLOW_H
#define CWLINT_FLOW_H

#include "lint.h"

#include <stddef.h>
#include <stdint.h>

/* A variable (VarDecl or ParmDecl) and a field path in it: ".next.value",
 * or "" for the whole variable. */
typedef struct flow_path {
  CXCursor var;
  char fields[64];
} flow_path;

/* Values that depend on some awaits: the awaits themselves and the paths
 * assigned from them. Also what an expression reads. */
typedef struct flow_taint {
  CXCursor *awaits;
  size_t nawaits, awaits_cap;
  flow_path *paths;
  size_t npaths, paths_cap;
} flow_taint;

/* A write: dst gets a value computed from src. */
typedef struct flow_write {
  flow_path dst;
  CXCursor src;     /* the value, or the call dst's address is passed to */
  flow_taint reads; /* what the value depends on */
  uint64_t pos;     /* its place among the writes and awaits of its region */
  bool out_param;   /* &dst (or the array dst) is an argument of the call src */
  bool global;      /* dst is (in) a global or static variable: other code may read it */
} flow_write;

/* An await met in a region. */
typedef struct flow_await {
  CXCursor call;
  uint64_t pos;
} flow_await;

/* What some code writes and awaits, in evaluation order. */
typedef struct flow_region {
  flow_write *writes;
  size_t nwrites, writes_cap;
  flow_await *awaits;
  size_t nawaits, awaits_cap;
  uint64_t next_pos;
} flow_region;

/* c (any cursor) is or contains an await. */
bool flow_has_await(lint_unit *u, CXCursor c);
/* The promise argument of an await. */
CXCursor flow_await_promise(CXCursor await);
/* await waits for a cw_sleep: a pause made on purpose. */
bool flow_awaits_sleep(lint_unit *u, CXCursor await);
/* inner's location lies in outer's source range. */
bool flow_encloses(CXCursor outer, CXCursor inner);
/* Splits a for statement into its parts (null cursors for those absent). */
void flow_for_parts(lint_unit *u, CXCursor for_stmt, CXCursor *init, CXCursor *cond, CXCursor *inc, CXCursor *body);

/* Appends the writes and awaits of c (a statement or an expression, or a
 * null cursor) to r. */
void flow_region_add(lint_unit *u, flow_region *r, CXCursor c);
void flow_region_free(flow_region *r);

/* Adds an await, or a path, as a source of t. */
void flow_taint_add_await(flow_taint *t, CXCursor await);
void flow_taint_add_path(flow_taint *t, const flow_path *p);
/* t has await among its sources. */
bool flow_taint_has_await(const flow_taint *t, CXCursor await);
/* p overlaps a path of t (one of them is a field of the other). */
bool flow_taint_has(const flow_taint *t, const flow_path *p);
/* a and b share an await or a path (or one's path is a field of the other's). */
bool flow_taint_meets(const flow_taint *a, const flow_taint *b);
/* Closes t over the writes of r placed before limit: each destination
 * whose value depends on t joins it, until nothing changes. */
void flow_taint_close(flow_taint *t, const flow_region *r, uint64_t limit);
/* Widens t, a set of values, with what the writes of r placed before
 * limit that produce them read, until nothing changes. */
void flow_taint_widen(flow_taint *t, const flow_region *r, uint64_t limit);
/* Adds to reads the awaits and paths the value of expression e (a null
 * cursor: none) is computed from. */
void flow_reads(lint_unit *u, CXCursor e, flow_taint *reads);
/* The value of expression e depends on t. */
bool flow_depends(lint_unit *u, const flow_taint *t, CXCursor e);
void flow_taint_free(flow_taint *t);

#endif
