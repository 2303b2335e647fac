/* Parses each file with libclang, finds the functions the core runs, runs
 * the rules over every function defined in the file and collects what they
 * report. Files are spread over threads, each with its own CXIndex. */
#define _GNU_SOURCE /* sched_getaffinity */
#include "cwlint.h"

#include <clang-c/CXCompilationDatabase.h>

#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const rule_info lint_rules[] = {
    {"floating-task", true, "A promise is dropped instead of being awaited, chained or handed off",
     rule_floating_task},
    {"await-in-loop", false, "cw_await in a loop runs iterations one after another that could run together",
     rule_await_in_loop},
    {"useless-async", false, "A task function that never awaits costs a task for nothing", rule_useless_async},
    {"blocking-call", false, "A blocking call in a task or a loop callback stalls the event loop",
     rule_blocking_call},
    {"sequential-awaits", false, "Consecutive awaits of independent promises could run together with cw_all",
     rule_sequential_awaits},
    {UNUSED_IGNORE_RULE, false, "A cwlint-ignore comment that suppresses nothing", NULL},
};
const size_t lint_rule_count = sizeof lint_rules / sizeof *lint_rules;

int rule_index(const char *name) {
  for (size_t i = 0; i < lint_rule_count; i++)
    if (strcmp(lint_rules[i].name, name) == 0)
      return (int)i;
  return -1;
}

/* ---- jobs ------------------------------------------------------------------------ */

static void args_add(lint_job *j, const char *arg) {
  j->args = xrealloc(j->args, (size_t)(j->nargs + 1) * sizeof *j->args);
  j->args[j->nargs++] = xstrndup(arg, strlen(arg));
}

/* Flags every parse gets after the file's own: no warnings (cwlint reports
 * none of them, and the build's -Werror must not turn them into errors). */
static void args_finish(lint_job *j, char **extra, int nextra) {
  for (int i = 0; i < nextra; i++)
    args_add(j, extra[i]);
  args_add(j, "-w");
}

void job_init(lint_job *j, const char *path, char **extra, int nextra) {
  *j = (lint_job){xstrndup(path, strlen(path)), xstrndup(path, strlen(path)), NULL, 0};
  args_add(j, "-std=gnu11");
  args_finish(j, extra, nextra);
}

void job_free(lint_job *j) {
  free(j->path);
  free(j->source);
  for (int i = 0; i < j->nargs; i++)
    free(j->args[i]);
  free(j->args);
}

/* A compile command's flag that produces output or names the source: left
 * out of the parse. Returns how many arguments it spans (0: keep it). */
static int output_flag(const char *a, const char *source) {
  static const char *const with_value[] = {"-o", "-MF", "-MT", "-MQ"};
  static const char *const alone[] = {"-c", "-MD", "-MMD", "-MP", "-M", "-MM"};
  for (size_t i = 0; i < sizeof with_value / sizeof *with_value; i++)
    if (strcmp(a, with_value[i]) == 0)
      return 2;
  for (size_t i = 0; i < sizeof alone / sizeof *alone; i++)
    if (strcmp(a, alone[i]) == 0)
      return 1;
  if (strncmp(a, "-MF", 3) == 0 || strncmp(a, "-MT", 3) == 0 || strncmp(a, "-MQ", 3) == 0 ||
      (strncmp(a, "-o", 2) == 0 && a[2]))
    return 1;
  return strcmp(a, source) == 0;
}

/* path relative to the working directory when it lies under it. */
static char *display_path(const char *abs) {
  char cwd[4096];
  if (getcwd(cwd, sizeof cwd)) {
    size_t len = strlen(cwd);
    if (strncmp(abs, cwd, len) == 0 && abs[len] == '/')
      return xstrndup(abs + len + 1, strlen(abs + len + 1));
  }
  return xstrndup(abs, strlen(abs));
}

static void job_from_command(lint_job *j, CXCompileCommand cmd, char **extra, int nextra) {
  CXString dir = clang_CompileCommand_getDirectory(cmd), file = clang_CompileCommand_getFilename(cmd);
  const char *d = clang_getCString(dir), *f = clang_getCString(file);
  char *joined = f[0] == '/' ? xstrndup(f, strlen(f)) : xasprintf("%s/%s", d, f);
  char *real = realpath(joined, NULL);
  *j = (lint_job){0};
  j->source = real ? real : xstrndup(joined, strlen(joined));
  j->path = display_path(j->source);
  free(joined);
  /* Relative -I paths are the command's directory's: clang resolves them
   * against -working-directory, so threads need no chdir. */
  char *wd = xasprintf("-working-directory=%s", d);
  args_add(j, wd);
  free(wd);
  unsigned n = clang_CompileCommand_getNumArgs(cmd);
  for (unsigned i = 1; i < n; i++) {
    CXString a = clang_CompileCommand_getArg(cmd, i);
    int skip = output_flag(clang_getCString(a), f);
    if (!skip)
      args_add(j, clang_getCString(a));
    clang_disposeString(a);
    i += skip > 1 ? (unsigned)skip - 1 : 0;
  }
  args_finish(j, extra, nextra);
  clang_disposeString(dir);
  clang_disposeString(file);
}

static void jobs_add_commands(CXCompileCommands cmds, char **extra, int nextra, lint_job **jobs, size_t *n) {
  unsigned count = clang_CompileCommands_getSize(cmds);
  for (unsigned i = 0; i < count; i++) {
    lint_job j;
    job_from_command(&j, clang_CompileCommands_getCommand(cmds, i), extra, nextra);
    size_t len = strlen(j.source);
    bool seen = len < 2 || strcmp(j.source + len - 2, ".c") != 0; /* C only: no assembly */
    /* A file built twice (static and shared) is linted once. */
    for (size_t k = 0; k < *n && !seen; k++)
      seen = strcmp((*jobs)[k].source, j.source) == 0;
    if (seen) {
      job_free(&j);
      continue;
    }
    *jobs = xrealloc(*jobs, (*n + 1) * sizeof **jobs);
    (*jobs)[(*n)++] = j;
  }
}

bool jobs_from_database(const char *dir, char **files, size_t nfiles, char **extra, int nextra, lint_job **jobs,
                        size_t *n) {
  CXCompilationDatabase_Error err;
  CXCompilationDatabase db = clang_CompilationDatabase_fromDirectory(dir, &err);
  if (err != CXCompilationDatabase_NoError) {
    fprintf(stderr, "cwlint: %s: cannot read compile_commands.json\n", dir);
    return false;
  }
  *jobs = NULL;
  *n = 0;
  if (!nfiles) {
    CXCompileCommands cmds = clang_CompilationDatabase_getAllCompileCommands(db);
    jobs_add_commands(cmds, extra, nextra, jobs, n);
    clang_CompileCommands_dispose(cmds);
  }
  for (size_t i = 0; i < nfiles; i++) {
    char *real = realpath(files[i], NULL);
    CXCompileCommands cmds = clang_CompilationDatabase_getCompileCommands(db, real ? real : files[i]);
    size_t before = *n;
    if (cmds)
      jobs_add_commands(cmds, extra, nextra, jobs, n);
    if (*n == before) { /* not in the database: default flags */
      *jobs = xrealloc(*jobs, (*n + 1) * sizeof **jobs);
      job_init(&(*jobs)[(*n)++], files[i], extra, nextra);
    } else {
      free((*jobs)[before].path); /* shown as the user named it */
      (*jobs)[before].path = xstrndup(files[i], strlen(files[i]));
    }
    if (cmds)
      clang_CompileCommands_dispose(cmds);
    free(real);
  }
  clang_CompilationDatabase_dispose(db);
  return true;
}

void result_free(file_result *r) {
  for (size_t i = 0; i < r->n; i++) {
    free(r->v[i].message);
    free(r->v[i].note);
  }
  free(r->v);
  free(r->text);
  free(r->errors);
}

void result_add(file_result *r, unsigned line, unsigned col, int rule, char *message, char *note) {
  if (r->n == r->cap) {
    r->cap = r->cap ? r->cap * 2 : 16;
    r->v = xrealloc(r->v, r->cap * sizeof *r->v);
  }
  r->v[r->n++] = (finding){line, col, rule, message, note};
}

/* ---- the unit ------------------------------------------------------------------------ */

void lint_report(lint_unit *u, const char *rule, CXSourceLocation loc, const char *message, const char *note) {
  int r = rule_index(rule);
  if (r < 0 || !u->opt->enabled[r])
    return;
  CXFile file;
  unsigned line, col;
  clang_getFileLocation(loc, &file, &line, &col, NULL);
  if (!file || !clang_File_isEqual(file, u->file) || ignores_match(&u->ignores, rule, line))
    return;
  result_add(u->result, line, col, r, xstrndup(message, strlen(message)), xstrndup(note, strlen(note)));
}

bool unit_is_callback(lint_unit *u, CXCursor fn) {
  return cursors_get(&u->roles, clang_getCanonicalCursor(fn)) & ROLE_CALLBACK;
}

bool lint_awaits(lint_unit *u, CXCursor function) {
  return cursors_get(&u->awaiting, function);
}

static bool is_ident(char c) {
  return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

char *unit_spelled_name(lint_unit *u, CXCursor call) {
  /* The word where the callee is written: the macro's name for a call a
   * macro expands to, the member's for s->start(...). */
  CXCursor callee;
  CXFile file = NULL;
  unsigned off = 0;
  if (lint_children(u, call, &callee, 1) >= 1)
    clang_getFileLocation(clang_getCursorLocation(lint_strip(u, callee)), &file, NULL, NULL, &off);
  if (file && clang_File_isEqual(file, u->file) && off < u->len && is_ident(u->text[off])) {
    size_t end = off;
    while (end < u->len && is_ident(u->text[end]))
      end++;
    return xstrndup(u->text + off, end - off);
  }
  const char *name = lint_callee_name(u, call);
  return name ? xstrndup(name, strlen(name)) : NULL;
}

/* Which argument of a core or libuv function is a function run on the loop
 * thread: cw_spawn's runs as a task; cw_work's and uv_queue_work's work and
 * a thread's entry run elsewhere. 0 for none. */
static int argument_role(const char *callee, unsigned i) {
  if (strcmp(callee, "cw_spawn_at") == 0 && i == 1)
    return ROLE_TASK;
  if ((strcmp(callee, "cw_work_at") == 0 && i == 1) || (strcmp(callee, "uv_queue_work") == 0 && i == 2) ||
      strncmp(callee, "uv_thread_create", 16) == 0)
    return 0;
  return ROLE_CALLBACK;
}

/* The function e names (fn or &fn, cast or not), or a null cursor. */
static CXCursor function_named(lint_unit *u, CXCursor e) {
  e = lint_strip(u, e);
  if (e.kind == CXCursor_UnaryOperator && lint_children(u, e, &e, 1) == 1)
    e = lint_strip(u, e);
  CXCursor fn = e.kind == CXCursor_DeclRefExpr ? clang_getCursorReferenced(e) : clang_getNullCursor();
  return fn.kind == CXCursor_FunctionDecl ? fn : clang_getNullCursor();
}

static void note_function_arguments(lint_unit *u, CXCursor call, const char *callee) {
  int n = clang_Cursor_getNumArguments(call);
  for (int i = 0; i < n; i++) {
    CXCursor fn = function_named(u, clang_Cursor_getArgument(call, (unsigned)i));
    int role = clang_Cursor_isNull(fn) ? 0 : argument_role(callee, (unsigned)i);
    if (role) {
      fn = clang_getCanonicalCursor(fn);
      cursors_set(&u->roles, fn, cursors_get(&u->roles, fn) | role);
    }
  }
}

typedef struct definition_walk {
  lint_unit *u;
  CXCursor function;
} definition_walk;

/* Notes the functions a call in a definition hands to the core or libuv,
 * and whether the definition awaits. */
static enum CXChildVisitResult note_call(CXCursor c, CXCursor parent, CXClientData data) {
  (void)parent;
  definition_walk *w = data;
  const char *callee = c.kind == CXCursor_CallExpr ? lint_callee_name(w->u, c) : NULL;
  if (!callee)
    return CXChildVisit_Recurse;
  if (lint_is_await(w->u, c))
    cursors_set(&w->u->awaiting, w->function, 1);
  if (strncmp(callee, "cw_", 3) == 0 || strncmp(callee, "uv_", 3) == 0)
    note_function_arguments(w->u, c, callee);
  return CXChildVisit_Recurse;
}

typedef struct definitions {
  lint_unit *u;
  CXCursor *v;
  size_t n, cap;
} definitions;

static bool in_unit_file(lint_unit *u, CXCursor c) {
  CXFile file;
  clang_getFileLocation(clang_getCursorLocation(c), &file, NULL, NULL, NULL);
  return file && clang_File_isEqual(file, u->file);
}

/* The function definitions of the file: the top-level cursors of the
 * headers are passed over without a look inside. */
static enum CXChildVisitResult find_definition(CXCursor c, CXCursor parent, CXClientData data) {
  (void)parent;
  definitions *defs = data;
  if (c.kind != CXCursor_FunctionDecl || !clang_isCursorDefinition(c) || !in_unit_file(defs->u, c))
    return CXChildVisit_Continue;
  if (defs->n == defs->cap) {
    defs->cap = defs->cap ? defs->cap * 2 : 64;
    defs->v = xrealloc(defs->v, defs->cap * sizeof *defs->v);
  }
  defs->v[defs->n++] = c;
  definition_walk w = {defs->u, c};
  lint_visit(defs->u, c, note_call, &w);
  return CXChildVisit_Continue;
}

static int compare_findings(const void *a, const void *b) {
  const finding *x = a, *y = b;
  if (x->line != y->line)
    return x->line < y->line ? -1 : 1;
  if (x->col != y->col)
    return x->col < y->col ? -1 : 1;
  if (x->rule != y->rule)
    return x->rule - y->rule;
  return strcmp(x->message, y->message);
}

/* Sorts r's findings and drops repeats (one macro use can yield a finding twice). */
static void sort_findings(file_result *r) {
  if (!r->n)
    return;
  qsort(r->v, r->n, sizeof *r->v, compare_findings);
  size_t out = 0;
  for (size_t i = 0; i < r->n; i++) {
    if (out && compare_findings(&r->v[out - 1], &r->v[i]) == 0) {
      free(r->v[i].message);
      free(r->v[i].note);
      continue;
    }
    r->v[out++] = r->v[i];
  }
  r->n = out;
}

/* Appends a line to r's errors (taking it). */
static void add_error(file_result *r, char *line) {
  char *joined = r->errors ? xasprintf("%s%s\n", r->errors, line) : xasprintf("%s\n", line);
  free(r->errors);
  free(line);
  r->errors = joined;
}

static void report_too_deep(lint_unit *u, CXCursor fn) {
  unsigned line;
  clang_getFileLocation(clang_getCursorLocation(fn), NULL, &line, NULL, NULL);
  CXString cs = clang_getCursorSpelling(fn);
  add_error(u->result, xasprintf("cwlint: %s:%u: '%s' nests more than %d levels deep: not linted", u->path, line,
                                 clang_getCString(cs), LINT_MAX_DEPTH));
  clang_disposeString(cs);
}

static void lint_unit_run(lint_unit *u) {
  definitions defs = {u, NULL, 0, 0};
  /* First every function the core runs, so that a task spawned below its
   * definition is known when the rules reach it. */
  clang_visitChildren(clang_getTranslationUnitCursor(u->tu), find_definition, &defs);
  for (size_t i = 0; i < defs.n; i++) {
    if (lint_height(u, defs.v[i]) > LINT_MAX_DEPTH) {
      report_too_deep(u, defs.v[i]);
      continue;
    }
    for (size_t r = 0; r < lint_rule_count; r++)
      if (lint_rules[r].run && u->opt->enabled[r])
        lint_rules[r].run(u, defs.v[i]);
  }
  free(defs.v);
}

/* ---- parsing ----------------------------------------------------------------------- */

/* The parse's errors, one a line; false when there were none. */
static bool collect_parse_errors(CXTranslationUnit tu, file_result *r) {
  bool any = false;
  unsigned n = clang_getNumDiagnostics(tu);
  for (unsigned i = 0; i < n; i++) {
    CXDiagnostic d = clang_getDiagnostic(tu, i);
    if (clang_getDiagnosticSeverity(d) >= CXDiagnostic_Error) {
      CXString s = clang_formatDiagnostic(d, CXDiagnostic_DisplaySourceLocation | CXDiagnostic_DisplayColumn);
      add_error(r, xasprintf("cwlint: %s", clang_getCString(s)));
      clang_disposeString(s);
      any = true;
    }
    clang_disposeDiagnostic(d);
  }
  return any;
}

/* Lints a parsed file whose contents are text. */
static void lint_parsed(CXTranslationUnit tu, const char *text, size_t len, const lint_options *opt,
                        const lint_job *job, file_result *r) {
  if (collect_parse_errors(tu, r)) {
    add_error(r, xasprintf("cwlint: %s: not linted: it does not compile", job->path));
    return;
  }
  lint_unit u = {.opt = opt, .tu = tu, .path = job->path, .result = r};
  u.file = clang_getFile(tu, job->source);
  u.text = text;
  u.len = len;
  if (!u.file || !u.text) {
    add_error(r, xasprintf("cwlint: %s: clang could not read it", job->path));
    return;
  }
  r->text = xstrndup(u.text, u.len);
  r->len = u.len;
  ignores_scan(&u.ignores, u.text, u.len);
  lint_unit_run(&u);
  if (opt->report_unused_ignores)
    ignores_report_unused(&u.ignores, opt, r);
  sort_findings(r);
  ignores_free(&u.ignores);
  cursors_free(&u.roles);
  cursors_free(&u.awaiting);
  cursors_free(&u.suspends);
  tree_free(&u.tree);
}

/* Parses and lints jobs[i]: with its shared header when it has one and
 * that works, else alone. */
static void lint_file(CXIndex index, const lint_options *opt, shared_plan *plan, const lint_job *jobs, size_t i,
                      file_result *r) {
  const lint_job *job = &jobs[i];
  struct stat st;
  if (stat(job->source, &st) != 0) {
    add_error(r, xasprintf("cwlint: %s: %s", job->path, strerror(errno)));
  } else if (!S_ISREG(st.st_mode)) {
    add_error(r, xasprintf("cwlint: %s: not a regular file", job->path));
  } else {
    char *text = NULL;
    size_t len = 0;
    CXTranslationUnit tu = NULL;
    if (plan->header_of_job[i] != NO_SHARED_HEADER)
      tu = shared_parse(plan, i, index, job, &text, &len);
    enum CXErrorCode err = CXError_Success;
    if (!tu)
      err = clang_parseTranslationUnit2(index, job->source, (const char *const *)job->args, job->nargs, NULL, 0,
                                        CXTranslationUnit_None, &tu);
    if (err != CXError_Success) {
      add_error(r, xasprintf("cwlint: %s: %s", job->path,
                             err == CXError_Crashed ? "clang crashed while parsing it" : "clang could not parse it"));
    } else {
      CXFile file = text ? NULL : clang_getFile(tu, job->source);
      const char *contents = text ? text : file ? clang_getFileContents(tu, file, &len) : NULL;
      lint_parsed(tu, contents, len, opt, job, r);
      clang_disposeTranslationUnit(tu);
    }
    free(text);
  }
  if (plan->header_of_job[i] != NO_SHARED_HEADER)
    shared_done(plan, i);
}

typedef struct work {
  const lint_options *opt;
  shared_plan *plan;
  const lint_job *jobs;
  file_result *results;
  const size_t *order; /* job indices, largest file first */
  size_t n;
  atomic_size_t next; /* the shared headers first, then the files */
} work;

static void *worker(void *arg) {
  work *w = arg;
  /* Declarations from a precompiled header are not enumerated with the
   * file's own: only the file's definitions are looked at. */
  CXIndex index = clang_createIndex(1, 0);
  for (size_t i; (i = atomic_fetch_add(&w->next, 1)) < w->plan->n + w->n;) {
    if (i < w->plan->n)
      shared_build(w->plan, i, index);
    else
      lint_file(index, w->opt, w->plan, w->jobs, w->order[i - w->plan->n], &w->results[w->order[i - w->plan->n]]);
  }
  clang_disposeIndex(index);
  return NULL;
}

typedef struct sized {
  off_t size;
  size_t index;
} sized;

static int larger_first(const void *a, const void *b) {
  const sized *x = a, *y = b;
  if (x->size != y->size)
    return x->size > y->size ? -1 : 1;
  return x->index < y->index ? -1 : x->index > y->index;
}

/* The jobs' indices, largest file first: a big file started last would
 * leave the other threads idle at the end. */
static size_t *schedule(const lint_job *jobs, size_t n) {
  sized *s = xrealloc(NULL, n * sizeof *s);
  for (size_t i = 0; i < n; i++) {
    struct stat st;
    s[i] = (sized){stat(jobs[i].source, &st) == 0 ? st.st_size : 0, i};
  }
  qsort(s, n, sizeof *s, larger_first);
  size_t *order = xrealloc(NULL, n * sizeof *order);
  for (size_t i = 0; i < n; i++)
    order[i] = s[i].index;
  free(s);
  return order;
}

/* The CPUs this process may run on: threads beyond them only compete. */
static int cpus_available(void) {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
    return CPU_COUNT(&set);
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? (int)n : 1;
}

/* Workers parse and lint on stacks this deep: clang's parser and the rules
 * recurse once per level of nesting, and generated code nests deeply. */
#define WORKER_STACK_SIZE ((size_t)64 << 20)

void lint_run(const lint_options *opt, const lint_job *jobs, size_t n, file_result *results, int threads) {
  size_t *order = schedule(jobs, n);
  shared_plan plan;
  shared_plan_make(&plan, jobs, n, opt);
  work w = {opt, &plan, jobs, results, order, n, 0};
  int cpus = cpus_available();
  if (threads < 1 || threads > cpus)
    threads = cpus;
  if (threads > (int)n)
    threads = (int)n;
  if (threads < 1)
    threads = 1;
  /* Left to itself, libclang parses each file on a thread of its own,
   * whose stack is mapped and faulted in anew every time. */
  setenv("LIBCLANG_NOTHREADS", "1", 1);
  /* It allocates and frees tens of megabytes a file: kept in the heap
   * rather than handed back to the kernel, they are not faulted in again. */
  mallopt(M_MMAP_THRESHOLD, 64 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, WORKER_STACK_SIZE);
  pthread_t *ids = xrealloc(NULL, (size_t)threads * sizeof *ids);
  int started = 0;
  for (; started < threads; started++)
    if (pthread_create(&ids[started], &attr, worker, &w) != 0)
      break;
  pthread_attr_destroy(&attr);
  if (started == 0)
    worker(&w); /* no thread to be had: the calling thread's stack will do */
  for (int i = 0; i < started; i++)
    pthread_join(ids[i], NULL);
  free(ids);
  free(order);
  shared_plan_free(&plan);
}
