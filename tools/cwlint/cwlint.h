/* cwlint's driver side: options, the configuration, one file's results,
 * suppressions and output. The rules see only lint.h. */
#ifndef CWLINT_CWLINT_H
#define CWLINT_CWLINT_H

#include "lint.h"

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

/* A growable array of strings, each owned by it. */
typedef struct name_list {
  char **v;
  size_t n, cap;
} name_list;
void names_add(name_list *l, const char *s, size_t len);
bool names_has(const name_list *l, const char *s);
void names_free(name_list *l);

/* Dies with a message on out of memory: cwlint has nothing to fall back on. */
void *xrealloc(void *p, size_t size);
char *xstrndup(const char *s, size_t len);
/* printf into a fresh string. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Compares a libclang string with s, and disposes of it. */
bool cxstr_is(CXString cs, const char *s);

/* ---- rules ----------------------------------------------------------------- */

typedef struct rule_info {
  const char *name;
  bool error; /* reported as error: rather than warning: */
  const char *summary;
  void (*run)(lint_unit *u, CXCursor function); /* NULL: reported by the driver */
} rule_info;

/* Every rule, the driver's unused-ignore last. */
extern const rule_info lint_rules[];
extern const size_t lint_rule_count;
#define UNUSED_IGNORE_RULE "unused-ignore"
/* Index in lint_rules, -1 when unknown. */
int rule_index(const char *name);

/* ---- configuration ---------------------------------------------------------------- */

/* The project's own names, from --config or a .cwlint file. */
typedef struct lint_config {
  name_list task_types;     /* values of these types are task handles */
  name_list task_returning; /* calls to these functions return a task handle */
  name_list tasks;          /* these functions run as tasks */
  name_list blocking;       /* these functions block */
  name_list awaits;         /* these functions await their argument */
} lint_config;

/* Reads path into c; on error prints "path:line: problem" and returns false. */
bool config_load(lint_config *c, const char *path);
/* The nearest .cwlint from the working directory up, or NULL (caller frees). */
char *config_find(void);
void config_free(lint_config *c);

typedef enum { FORMAT_TEXT, FORMAT_JSON, FORMAT_SARIF } lint_format;

typedef struct lint_options {
  bool *enabled; /* by rule index */
  bool report_unused_ignores;
  bool share_headers; /* parse the directives files begin with once (shared.c) */
  bool verbose;       /* say on stderr what is shared */
  lint_config config;
} lint_options;

/* ---- one file ---------------------------------------------------------------------- */

typedef struct finding {
  unsigned line, col;
  int rule; /* index in lint_rules */
  char *message, *note;
} finding;

typedef struct lint_job {
  char *path;   /* as shown in the output */
  char *source; /* as given to clang */
  char **args;  /* compiler flags */
  int nargs;
} lint_job;

typedef struct file_result {
  char *text; /* the file's contents, for the source lines of the text output */
  size_t len;
  finding *v;
  size_t n, cap;
  char *errors; /* why the file could not be linted (printed to stderr), or NULL */
} file_result;

/* Parses and lints every job on up to threads threads (no more than the
 * CPUs available, and as many when threads is 0), largest file first;
 * results[i] is jobs[i]'s. */
void lint_run(const lint_options *opt, const lint_job *jobs, size_t n, file_result *results, int threads);
/* Jobs for the files of BUILD_DIR/compile_commands.json (all when nfiles is 0),
 * each with extra flags appended; false with a message when it cannot be read. */
bool jobs_from_database(const char *dir, char **files, size_t nfiles, char **extra, int nextra, lint_job **jobs,
                        size_t *n);
/* A job for path with the default flags and extra. */
void job_init(lint_job *j, const char *path, char **extra, int nextra);
void job_free(lint_job *j);
void result_free(file_result *r);

/* ---- shared headers (shared.c) ------------------------------------------------------ */

/* A precompiled header of the directives several files begin with. */
typedef struct shared_header {
  char *text; /* the directives */
  size_t len;
  size_t directives; /* how many */
  char *header;      /* the header's path: in the files' directory, never on disk */
  char *pch;         /* the precompiled header's; NULL when it could not be built */
  const lint_job *job; /* a file whose flags it is built with */
  size_t users;        /* files still to parse with it */
  bool done;           /* built, or given up */
} shared_header;

#define NO_SHARED_HEADER SIZE_MAX

typedef struct shared_plan {
  shared_header *v;
  size_t n;
  size_t *header_of_job; /* index in v, or NO_SHARED_HEADER */
  char *dir;             /* the temporary directory of the precompiled headers */
  bool verbose;          /* say on stderr when a file is parsed alone after all */
  pthread_mutex_t lock;
  pthread_cond_t built;
} shared_plan;

/* Reads the head of every job's file and chooses what is shared (nothing
 * unless opt->share_headers; printed on stderr when opt->verbose). */
void shared_plan_make(shared_plan *plan, const lint_job *jobs, size_t n, const lint_options *opt);
/* Builds plan->v[i] (from any thread). */
void shared_build(shared_plan *plan, size_t i, CXIndex index);
/* Parses jobs[job] with its shared header once it is built; NULL when that
 * cannot be done or the file does not compile that way (then it is parsed
 * alone). On success *text is the file's contents (caller frees). */
CXTranslationUnit shared_parse(shared_plan *plan, size_t job, CXIndex index, const lint_job *j, char **text,
                               size_t *len);
/* jobs[job] is done with its shared header. */
void shared_done(shared_plan *plan, size_t job);
/* Removes the precompiled headers and their directory. */
void shared_plan_free(shared_plan *plan);

/* ---- suppressions -------------------------------------------------------------------- */

typedef struct ignore_comment {
  unsigned line, col;
  name_list rules;
  bool *used;
} ignore_comment;

typedef struct ignore_list {
  ignore_comment *v;
  size_t n, cap;
} ignore_list;

/* The // cwlint-ignore: comments of text. */
void ignores_scan(ignore_list *l, const char *text, size_t len);
/* A finding of rule on line is suppressed (and marks the comment used). */
bool ignores_match(ignore_list *l, const char *rule, unsigned line);
/* Adds an unused-ignore finding for each rule named in a comment that
 * suppressed nothing (unknown names included, disabled rules not). */
void ignores_report_unused(const ignore_list *l, const lint_options *opt, file_result *r);
void ignores_free(ignore_list *l);

/* ---- the unit the rules see ---------------------------------------------------------- */

/* A hash map from declaration cursors to small values, 0 meaning absent. */
typedef struct cursor_map {
  CXCursor *keys;
  unsigned char *values; /* 0: the slot is free */
  size_t n, cap;         /* cap is 0 or a power of two */
} cursor_map;
/* c's value, 0 when it has none. */
int cursors_get(const cursor_map *m, CXCursor c);
/* Gives c the value (not 0). */
void cursors_set(cursor_map *m, CXCursor c, int value);
void cursors_free(cursor_map *m);

/* The children of the cursors the rules have looked at, gathered from
 * libclang once (tree.c). */
typedef struct cursor_tree {
  struct tree_node *nodes;
  size_t nnodes, nodes_cap;
  uint32_t *kids; /* each node's children, by node index */
  size_t nkids, kids_cap;
  uint32_t *slots; /* node index + 1 by cursor, 0 when free; at most half full */
  size_t nslots;   /* 0 or a power of two */
  struct call_facts *calls;
  size_t ncalls, calls_cap;
} cursor_tree;
void tree_free(cursor_tree *t);

struct lint_unit {
  const lint_options *opt;
  CXTranslationUnit tu;
  const char *path; /* the file linted, as the output names it */
  CXFile file;
  const char *text; /* its contents */
  size_t len;
  file_result *result;
  ignore_list ignores;
  cursor_map roles;    /* canonical declarations of the functions cw_spawn runs (ROLE_TASK) and
                          of those the core or libuv call back on the loop (ROLE_CALLBACK) */
  cursor_map awaiting; /* the definitions of the file that contain an await */
  cursor_map suspends; /* useless-async's answers so far */
  cursor_tree tree;
};

/* The roles of a function, bits of its value in lint_unit.roles. */
enum { ROLE_TASK = 1, ROLE_CALLBACK = 2 };

/* fn (a declaration) is called back by the core or libuv on the loop thread. */
bool unit_is_callback(lint_unit *u, CXCursor fn);
/* The name of the function a call's value comes from as the user wrote it
 * (the macro's name for cw_then(...)), or NULL; caller frees. */
char *unit_spelled_name(lint_unit *u, CXCursor call);
/* The declaration of fn carries __attribute__((annotate(name))). */
bool lint_has_annotation(CXCursor fn, const char *name);

/* Appends a finding to r (taking message and note). */
void result_add(file_result *r, unsigned line, unsigned col, int rule, char *message, char *note);

/* ---- output -------------------------------------------------------------------------------- */

/* Prints the findings of every file in the chosen format to stdout. */
void output_write(lint_format format, const lint_job *jobs, const file_result *results, size_t n);

#endif
