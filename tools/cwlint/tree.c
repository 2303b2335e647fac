/* The unit's copy of the cursor tree. clang_visitChildren builds a visitor
 * for every call, and the rules ask for the same children over and over
 * (each rule walks every body, and lint_strip looks under every cast): a
 * subtree is gathered from libclang once, in one recursive visit, and every
 * walk after that reads arrays. The walks are iterative, so an expression
 * nested thousands deep costs no stack here. */
#include "cwlint.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct tree_node {
  CXCursor cursor;
  uint32_t kids_at; /* its children are kids[kids_at .. kids_at + nkids) */
  uint32_t nkids;
  uint32_t call;   /* for a call asked about: its index in calls + 1 */
  uint32_t height; /* levels of the subtree it roots, itself included */
};

/* What a call calls, asked by every rule: found once. */
struct call_facts {
  CXCursor callee; /* a CXCursor_FunctionDecl, or a null cursor */
  char *name;      /* the callee's, or NULL */
};

#define NOT_FOUND UINT32_MAX

static size_t hash_cursor(CXCursor c) {
  uintptr_t h = (uintptr_t)c.data[0] * 31 + (uintptr_t)c.data[1];
  h = (h ^ (h >> 17) ^ (uintptr_t)c.kind) * UINT64_C(0x9e3779b97f4a7c15);
  return (size_t)(h ^ (h >> 29));
}

static bool identical(CXCursor a, CXCursor b) {
  return a.data[1] == b.data[1] && a.data[0] == b.data[0] && a.kind == b.kind && a.xdata == b.xdata &&
         a.data[2] == b.data[2];
}

/* The slot of c in the map: the one holding it, or the free one where it
 * belongs. Keys match exactly: a cursor libclang spells differently (one
 * from clang_getCursorReferenced) is gathered again, which is only slower. */
static uint32_t *slot_of(cursor_tree *t, CXCursor c) {
  size_t i = hash_cursor(c) & (t->nslots - 1);
  while (t->slots[i] && !identical(t->nodes[t->slots[i] - 1].cursor, c))
    i = (i + 1) & (t->nslots - 1);
  return &t->slots[i];
}

static uint32_t find(cursor_tree *t, CXCursor c) {
  return t->nslots ? *slot_of(t, c) - 1 : NOT_FOUND;
}

/* A node for c (not in the map yet), with no children so far. */
static uint32_t add_node(cursor_tree *t, CXCursor c) {
  if (2 * (t->nnodes + 1) > t->nslots) { /* the map is kept at most half full */
    free(t->slots);
    t->nslots = t->nslots ? 2 * t->nslots : 1024;
    t->slots = xrealloc(NULL, t->nslots * sizeof *t->slots);
    memset(t->slots, 0, t->nslots * sizeof *t->slots);
    for (uint32_t i = 0; i < t->nnodes; i++)
      *slot_of(t, t->nodes[i].cursor) = i + 1;
  }
  if (t->nnodes == t->nodes_cap) {
    t->nodes_cap = t->nodes_cap ? 2 * t->nodes_cap : 1024;
    t->nodes = xrealloc(t->nodes, t->nodes_cap * sizeof *t->nodes);
  }
  uint32_t n = (uint32_t)t->nnodes++;
  t->nodes[n] = (struct tree_node){c, 0, 0, 0, 1};
  *slot_of(t, c) = n + 1;
  return n;
}

/* One gathering: the (parent, child) edges in the order libclang visits
 * them, and the path from the subtree's root to the cursor visited last. */
typedef struct gather {
  cursor_tree *t;
  uint32_t (*edges)[2];
  size_t nedges, edges_cap;
  uint32_t *path;
  size_t depth, path_cap;
} gather;

static void *grow(void *v, size_t *cap, size_t n, size_t size) {
  if (n < *cap)
    return v;
  *cap = *cap ? 2 * *cap : 256;
  return xrealloc(v, *cap * size);
}

/* clang_equalCursors, without the call in the common cases. */
static bool same_cursor(CXCursor a, CXCursor b) {
  return a.kind == b.kind && (identical(a, b) || clang_equalCursors(a, b));
}

static enum CXChildVisitResult gather_child(CXCursor c, CXCursor parent, CXClientData data) {
  gather *g = data;
  cursor_tree *t = g->t;
  /* libclang visits depth first: the parent is on the path */
  while (g->depth > 1 && !same_cursor(t->nodes[g->path[g->depth - 1]].cursor, parent))
    g->depth--;
  /* A wrapper libclang shows as what it wraps (a case label's ConstantExpr)
   * has that as its child, the same cursor: its children are the node's. */
  if (same_cursor(c, parent))
    return CXChildVisit_Recurse;
  uint32_t known = find(t, c), node = known == NOT_FOUND ? add_node(t, c) : known;
  g->edges = grow(g->edges, &g->edges_cap, g->nedges, sizeof *g->edges);
  g->edges[g->nedges][0] = g->path[g->depth - 1];
  g->edges[g->nedges++][1] = node;
  if (known != NOT_FOUND)
    return CXChildVisit_Continue; /* its children were gathered before */
  g->path = grow(g->path, &g->path_cap, g->depth, sizeof *g->path);
  g->path[g->depth++] = node;
  return CXChildVisit_Recurse;
}

/* The node of c, its subtree gathered from libclang when it is new. The
 * children of the nodes added are stored together, each node's in order. */
static uint32_t node_of(cursor_tree *t, CXCursor c) {
  uint32_t known = find(t, c);
  if (known != NOT_FOUND)
    return known;
  uint32_t first = add_node(t, c);
  gather g = {.t = t};
  g.path = grow(NULL, &g.path_cap, 0, sizeof *g.path);
  g.path[g.depth++] = first;
  clang_visitChildren(c, gather_child, &g);
  for (size_t i = 0; i < g.nedges; i++) /* every parent is a node added here */
    t->nodes[g.edges[i][0]].nkids++;
  size_t at = t->nkids;
  for (size_t n = first; n < t->nnodes; n++) {
    t->nodes[n].kids_at = (uint32_t)at;
    at += t->nodes[n].nkids;
    t->nodes[n].nkids = 0;
  }
  while (t->kids_cap < at) {
    t->kids_cap = t->kids_cap ? 2 * t->kids_cap : 4096;
    t->kids = xrealloc(t->kids, t->kids_cap * sizeof *t->kids);
  }
  t->nkids = at;
  for (size_t i = 0; i < g.nedges; i++) {
    struct tree_node *p = &t->nodes[g.edges[i][0]];
    t->kids[p->kids_at + p->nkids++] = g.edges[i][1];
  }
  /* children come after their parent, or were gathered before */
  for (size_t n = t->nnodes; n-- > first;)
    for (uint32_t k = 0; k < t->nodes[n].nkids; k++) {
      uint32_t below = t->nodes[t->kids[t->nodes[n].kids_at + k]].height;
      if (below >= t->nodes[n].height)
        t->nodes[n].height = below + 1;
    }
  free(g.edges);
  free(g.path);
  return first;
}

unsigned lint_visit(lint_unit *u, CXCursor parent, CXCursorVisitor visit, CXClientData data) {
  cursor_tree *t = &u->tree;
  /* the nodes whose children are being visited, and the next child of each */
  struct frame {
    uint32_t node, next;
  } local[32], *stack = local;
  size_t depth = 0, cap = sizeof local / sizeof *local;
  stack[depth++] = (struct frame){node_of(t, parent), 0};
  unsigned broke = 0;
  while (depth) {
    struct frame *f = &stack[depth - 1];
    uint32_t p = f->node;
    if (f->next == t->nodes[p].nkids) {
      depth--;
      continue;
    }
    uint32_t kid = t->kids[t->nodes[p].kids_at + f->next++];
    /* the visitor may gather more, moving the arrays: indices only */
    enum CXChildVisitResult r = visit(t->nodes[kid].cursor, t->nodes[p].cursor, data);
    if (r == CXChildVisit_Break) {
      broke = 1;
      break;
    }
    if (r != CXChildVisit_Recurse || !t->nodes[kid].nkids)
      continue;
    if (depth == cap) {
      cap *= 2;
      stack = stack == local ? memcpy(xrealloc(NULL, cap * sizeof *stack), local, sizeof local)
                             : xrealloc(stack, cap * sizeof *stack);
    }
    stack[depth++] = (struct frame){kid, 0};
  }
  if (stack != local)
    free(stack);
  return broke;
}

unsigned lint_height(lint_unit *u, CXCursor c) {
  cursor_tree *t = &u->tree;
  return t->nodes[node_of(t, c)].height;
}

unsigned lint_children(lint_unit *u, CXCursor c, CXCursor *out, unsigned max) {
  cursor_tree *t = &u->tree;
  uint32_t n = node_of(t, c);
  const struct tree_node *node = &t->nodes[n];
  for (unsigned i = 0; i < max && i < node->nkids; i++)
    out[i] = t->nodes[t->kids[node->kids_at + i]].cursor;
  return node->nkids;
}

static const struct call_facts *call_facts(lint_unit *u, CXCursor call) {
  cursor_tree *t = &u->tree;
  uint32_t n = node_of(t, call);
  if (!t->nodes[n].call) {
    struct call_facts f = {clang_getCursorReferenced(call), NULL};
    if (f.callee.kind == CXCursor_FunctionDecl) {
      CXString cs = clang_getCursorSpelling(f.callee);
      f.name = xstrndup(clang_getCString(cs), strlen(clang_getCString(cs)));
      clang_disposeString(cs);
    } else {
      f.callee = clang_getNullCursor();
    }
    t->calls = grow(t->calls, &t->calls_cap, t->ncalls, sizeof *t->calls);
    t->calls[t->ncalls++] = f;
    t->nodes[n].call = (uint32_t)t->ncalls;
  }
  return &t->calls[t->nodes[n].call - 1];
}

CXCursor lint_callee(lint_unit *u, CXCursor call) {
  return call_facts(u, call)->callee;
}

const char *lint_callee_name(lint_unit *u, CXCursor call) {
  return call_facts(u, call)->name;
}

void tree_free(cursor_tree *t) {
  for (size_t i = 0; i < t->ncalls; i++)
    free(t->calls[i].name);
  free(t->calls);
  free(t->nodes);
  free(t->kids);
  free(t->slots);
  *t = (cursor_tree){0};
}
