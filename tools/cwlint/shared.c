/* Shared headers. Files in one directory, linted with the same flags, that
 * begin with the same #include and #define lines share one parse of those
 * lines: a precompiled header of them, built once in a private temporary
 * directory. Each file is then parsed with that header in place of its
 * own leading directives, which are blanked (spaces, newlines kept) so
 * that every line and column of the rest stays where it was. Parsing the
 * headers is most of what linting a C file costs.
 *
 * Only what cannot change a file's meaning is shared: a prefix of
 * #include, #define, #undef and balanced #if groups, with no __FILE__,
 * __LINE__ or other name that tells where it is read, in a .c file whose
 * flags pull in no other header (-include, modules, -x). Anything the
 * shared parse gets wrong sends the file back to a parse of its own. */
#define _GNU_SOURCE /* qsort_r */
#include "cwlint.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A precompiled header costs about twice a plain parse of the same lines
 * to build, and a tenth of one to load: worth it from three files. */
#define MIN_SHARING_FILES 3

/* ---- the directives at the head of a file ------------------------------------------ */

typedef struct span {
  size_t begin, end; /* from the '#' to after the newline */
} span;

typedef struct head {
  span *v;
  size_t n, cap;
  size_t *cuts; /* directive counts after which no #if is open */
  size_t ncuts, cuts_cap;
} head;

static void head_free(head *h) {
  free(h->v);
  free(h->cuts);
}

static bool ident_start(char c) {
  return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool ident_char(char c) {
  return ident_start(c) || (c >= '0' && c <= '9');
}

/* Names that end what is shared: those whose value depends on the file
 * they are read in (the shared header is another file), and those whose
 * operand may be a header name, which is not read as tokens are. */
static bool stops_sharing(const char *s, size_t len) {
  static const char *const names[] = {"__FILE__",      "__FILE_NAME__", "__BASE_FILE__",     "__LINE__",
                                      "__TIMESTAMP__", "__has_include", "__has_include_next"};
  for (size_t i = 0; i < sizeof names / sizeof *names; i++)
    if (strlen(names[i]) == len && memcmp(names[i], s, len) == 0)
      return true;
  return false;
}

/* The length of a backslash-newline at s[i], 0 when there is none. */
static size_t splice_at(const char *s, size_t len, size_t i) {
  if (i + 1 < len && s[i] == '\\' && s[i + 1] == '\n')
    return 2;
  if (i + 2 < len && s[i] == '\\' && s[i + 1] == '\r' && s[i + 2] == '\n')
    return 3;
  return 0;
}

/* The end of the block comment opening at s[i], or 0 when it is not closed
 * plainly (a backslash-newline inside might close it where this would not). */
static size_t block_comment_end(const char *s, size_t len, size_t i) {
  for (i += 2; i + 1 < len; i++) {
    if (s[i] == '*' && s[i + 1] == '/')
      return i + 2;
    if (splice_at(s, len, i) || (s[i] == '\r' && s[i + 1] != '\n'))
      return 0;
  }
  return 0;
}

/* The end of the line comment opening at s[i]: its newline, which a
 * backslash before it carries on to the next line. */
static size_t line_comment_end(const char *s, size_t len, size_t i) {
  while (i < len && s[i] != '\n') {
    size_t splice = splice_at(s, len, i);
    i += splice ? splice : 1;
  }
  return i;
}

/* Skips white space and comments from i; returns where the next token
 * starts, or len when the scan must stop (odd line ends, an open comment). */
static size_t skip_blank(const char *s, size_t len, size_t i) {
  while (i < len) {
    char c = s[i];
    if (c == ' ' || c == '\t' || c == '\f' || c == '\v' || c == '\n' || (c == '\r' && i + 1 < len && s[i + 1] == '\n'))
      i++;
    else if (c == '/' && i + 1 < len && s[i + 1] == '*') {
      if (!(i = block_comment_end(s, len, i)))
        return len;
    } else if (c == '/' && i + 1 < len && s[i + 1] == '/')
      i = line_comment_end(s, len, i);
    else if (c == '\r' || c == '\\')
      return len;
    else
      return i;
  }
  return len;
}

/* The '#' at s[i] begins its line, as a directive's must. */
static bool at_line_start(const char *s, size_t i) {
  while (i > 0 && (s[i - 1] == ' ' || s[i - 1] == '\t'))
    i--;
  return i == 0 || (s[i - 1] == '\n' && (i < 2 || s[i - 2] != '\\') && (i < 3 || s[i - 2] != '\r' || s[i - 3] != '\\'));
}

typedef enum { DIRECTIVE_STOP, DIRECTIVE_PLAIN, DIRECTIVE_IF, DIRECTIVE_ELSE, DIRECTIVE_ENDIF } directive_kind;

/* The end of the quoted or bracketed header name opening at s[i], or 0. */
static size_t header_name_end(const char *s, size_t len, size_t i) {
  char close = s[i] == '<' ? '>' : '"';
  for (i++; i < len && s[i] != '\n' && s[i] != '\r' && s[i] != '\\'; i++)
    if (s[i] == close)
      return i + 1;
  return 0;
}

/* The end of the string or character literal opening at s[i], or 0. */
static size_t literal_end(const char *s, size_t len, size_t i) {
  char close = s[i];
  for (i++; i < len && s[i] != '\n' && s[i] != '\r'; i++) {
    if (splice_at(s, len, i))
      return 0;
    if (s[i] == '\\')
      i++;
    else if (s[i] == close)
      return i + 1;
  }
  return 0;
}

/* Reads the directive whose '#' is at s[i]: its kind, and in *end where the
 * line after it starts. DIRECTIVE_STOP for one that cannot be shared. */
static directive_kind read_directive(const char *s, size_t len, size_t i, size_t *end) {
  static const struct {
    const char *name;
    directive_kind kind;
  } shareable[] = {{"include", DIRECTIVE_PLAIN}, {"define", DIRECTIVE_PLAIN}, {"undef", DIRECTIVE_PLAIN},
                   {"if", DIRECTIVE_IF},         {"ifdef", DIRECTIVE_IF},   {"ifndef", DIRECTIVE_IF},
                   {"elif", DIRECTIVE_ELSE},     {"else", DIRECTIVE_ELSE},  {"endif", DIRECTIVE_ENDIF}};
  for (i++; i < len && (s[i] == ' ' || s[i] == '\t');)
    i++;
  size_t name = i;
  while (i < len && ident_char(s[i]))
    i++;
  directive_kind kind = DIRECTIVE_STOP;
  for (size_t k = 0; k < sizeof shareable / sizeof *shareable; k++)
    if (strlen(shareable[k].name) == i - name && memcmp(shareable[k].name, s + name, i - name) == 0)
      kind = shareable[k].kind;
  if (kind == DIRECTIVE_STOP)
    return kind;
  if (i - name == 7) { /* include: its <name> or "name" is not tokens; a macro's is not shared */
    while (i < len && (s[i] == ' ' || s[i] == '\t'))
      i++;
    if (i >= len || (s[i] != '<' && s[i] != '"') || !(i = header_name_end(s, len, i)))
      return DIRECTIVE_STOP;
  }
  while (i < len) {
    char c = s[i];
    size_t splice = splice_at(s, len, i);
    if (splice) {
      /* A backslash-newline inside a name would hide it from the check below. */
      if (i > 0 && ident_char(s[i - 1]) && i + splice < len && ident_char(s[i + splice]))
        return DIRECTIVE_STOP;
      i += splice;
    } else if (c == '\n') {
      *end = i + 1;
      return kind;
    } else if (c == '\r') {
      if (i + 1 >= len || s[i + 1] != '\n')
        return DIRECTIVE_STOP;
      i++;
    } else if (c == '/' && i + 1 < len && s[i + 1] == '*') {
      if (!(i = block_comment_end(s, len, i)))
        return DIRECTIVE_STOP;
    } else if (c == '/' && i + 1 < len && s[i + 1] == '/') {
      i = line_comment_end(s, len, i);
    } else if (c == '"' || c == '\'') {
      if (!(i = literal_end(s, len, i)))
        return DIRECTIVE_STOP;
    } else if (ident_start(c)) {
      size_t start = i;
      while (i < len && ident_char(s[i]))
        i++;
      if (stops_sharing(s + start, i - start))
        return DIRECTIVE_STOP;
    } else if (c >= '0' && c <= '9') { /* a number: 1e__LINE__ is not a name */
      while (i < len && (ident_char(s[i]) || s[i] == '.'))
        i++;
    } else {
      i++;
    }
  }
  return DIRECTIVE_STOP; /* no newline: the file is all directives */
}

/* The shareable directives at the head of text, and where a prefix of them
 * may end (outside every #if). */
static void head_scan(head *h, const char *s, size_t len) {
  *h = (head){0};
  int depth = 0;
  for (size_t i = 0;;) {
    i = skip_blank(s, len, i);
    size_t end;
    directive_kind kind = i < len && s[i] == '#' && at_line_start(s, i) ? read_directive(s, len, i, &end)
                                                                        : DIRECTIVE_STOP;
    if (kind == DIRECTIVE_STOP || (kind != DIRECTIVE_IF && kind != DIRECTIVE_PLAIN && depth == 0))
      break;
    depth += kind == DIRECTIVE_IF ? 1 : kind == DIRECTIVE_ENDIF ? -1 : 0;
    if (h->n == h->cap) {
      h->cap = h->cap ? h->cap * 2 : 16;
      h->v = xrealloc(h->v, h->cap * sizeof *h->v);
    }
    h->v[h->n++] = (span){i, end};
    if (depth == 0) {
      if (h->ncuts == h->cuts_cap) {
        h->cuts_cap = h->cuts_cap ? h->cuts_cap * 2 : 16;
        h->cuts = xrealloc(h->cuts, h->cuts_cap * sizeof *h->cuts);
      }
      h->cuts[h->ncuts++] = h->n;
    }
    i = end;
  }
}

/* The first count directives of text, one after another. */
static char *head_text(const head *h, const char *text, size_t count, size_t *len) {
  *len = 0;
  for (size_t k = 0; k < count; k++)
    *len += h->v[k].end - h->v[k].begin;
  char *out = xrealloc(NULL, *len + 1), *p = out;
  for (size_t k = 0; k < count; k++) {
    memcpy(p, text + h->v[k].begin, h->v[k].end - h->v[k].begin);
    p += h->v[k].end - h->v[k].begin;
  }
  *p = 0;
  return out;
}

/* The file's bytes (NUL-terminated), or NULL. */
static char *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return NULL;
  char *text = NULL;
  size_t cap = 0;
  *len = 0;
  for (;;) {
    if (cap - *len < 4096) {
      cap = cap ? cap * 2 : 65536;
      text = xrealloc(text, cap + 1);
    }
    size_t got = fread(text + *len, 1, cap - *len, f);
    *len += got;
    if (got == 0)
      break;
  }
  bool failed = ferror(f);
  fclose(f);
  if (failed) {
    free(text);
    return NULL;
  }
  text[*len] = 0;
  return text;
}

/* ---- which files share which lines ------------------------------------------------------ */

/* Flags that bring in text of their own or change how it is read. */
static bool flags_allow_sharing(const lint_job *job) {
  static const char *const prefixes[] = {"-x",       "-include", "--include", "-imacros",   "--imacros",
                                         "-Xclang",  "-Xpreprocessor", "-Wp,",  "-fmodule", "-fpch",
                                         "-trigraphs", "-ftrigraphs", "-E"};
  size_t len = strlen(job->source);
  if (len < 3 || strcmp(job->source + len - 2, ".c") != 0)
    return false;
  for (int i = 0; i < job->nargs; i++)
    for (size_t p = 0; p < sizeof prefixes / sizeof *prefixes; p++)
      if (strncmp(job->args[i], prefixes[p], strlen(prefixes[p])) == 0)
        return false;
  return true;
}

/* What a file's directives mean depends on: its directory (for #include
 * "..."), its flags, and the directives. */
typedef struct candidate {
  char *setting; /* the directory and the flags, NUL-separated */
  size_t setting_len;
  char *directives; /* the directives of its head, one after another */
  size_t *cut_lens; /* lengths of directives at each cut */
  size_t *cut_counts; /* the number of directives at each cut */
  size_t ncuts;
} candidate;

static bool candidate_read(candidate *c, const lint_job *job) {
  *c = (candidate){0};
  if (!flags_allow_sharing(job))
    return false;
  size_t len;
  char *text = read_file(job->source, &len);
  if (!text)
    return false;
  head h;
  head_scan(&h, text, len);
  char *slash = strrchr(job->source, '/');
  char *dir_given = slash ? xstrndup(job->source, (size_t)(slash - job->source) + (slash == job->source))
                          : xstrndup(".", 1);
  char *dir = realpath(dir_given, NULL);
  free(dir_given);
  if (dir && h.ncuts) {
    size_t n = strlen(dir) + 1;
    for (int i = 0; i < job->nargs; i++)
      n += strlen(job->args[i]) + 1;
    c->setting = xrealloc(NULL, n);
    char *p = stpcpy(c->setting, dir) + 1;
    for (int i = 0; i < job->nargs; i++)
      p = stpcpy(p, job->args[i]) + 1;
    c->setting_len = n;
    size_t dlen;
    c->directives = head_text(&h, text, h.cuts[h.ncuts - 1], &dlen);
    c->cut_lens = xrealloc(NULL, h.ncuts * sizeof *c->cut_lens);
    c->cut_counts = xrealloc(NULL, h.ncuts * sizeof *c->cut_counts);
    for (size_t k = 0, at = 0, len_so_far = 0; k < h.ncuts; k++) {
      for (; at < h.cuts[k]; at++)
        len_so_far += h.v[at].end - h.v[at].begin;
      c->cut_lens[k] = len_so_far;
      c->cut_counts[k] = h.cuts[k];
    }
    c->ncuts = h.ncuts;
  }
  free(dir);
  head_free(&h);
  free(text);
  return c->ncuts > 0;
}

static void candidate_free(candidate *c) {
  free(c->setting);
  free(c->directives);
  free(c->cut_lens);
  free(c->cut_counts);
}

/* A prefix of directives some file begins with, in some setting. */
typedef struct prefix {
  size_t file; /* a candidate that has it */
  size_t len;  /* its length in that candidate's directives */
  size_t parent; /* the next shorter prefix, or NO_PREFIX */
  size_t files;  /* files that would share it */
  bool shared;
} prefix;
#define NO_PREFIX SIZE_MAX

typedef struct prefix_set {
  prefix *v;
  size_t n, cap;
  size_t *slots; /* index + 1, 0 when free; at most half full */
  size_t nslots;
} prefix_set;

static uint64_t hash_bytes(uint64_t h, const char *s, size_t len) {
  for (size_t i = 0; i < len; i++)
    h = (h ^ (unsigned char)s[i]) * 1099511628211u;
  return h;
}

static bool prefix_is(const prefix *p, const candidate *all, size_t file, size_t len) {
  const candidate *a = &all[p->file], *b = &all[file];
  return p->len == len && a->setting_len == b->setting_len && memcmp(a->setting, b->setting, a->setting_len) == 0 &&
         memcmp(a->directives, b->directives, len) == 0;
}

static void prefixes_grow(prefix_set *s, const candidate *all) {
  size_t nslots = s->nslots ? s->nslots * 2 : 256;
  size_t *slots = xrealloc(NULL, nslots * sizeof *slots);
  memset(slots, 0, nslots * sizeof *slots);
  for (size_t i = 0; i < s->n; i++) {
    const candidate *c = &all[s->v[i].file];
    uint64_t h = hash_bytes(hash_bytes(14695981039346656037u, c->setting, c->setting_len), c->directives, s->v[i].len);
    size_t at = (size_t)h & (nslots - 1);
    while (slots[at])
      at = (at + 1) & (nslots - 1);
    slots[at] = i + 1;
  }
  free(s->slots);
  s->slots = slots;
  s->nslots = nslots;
}

/* The prefix of file's directives of length len (hashed as h), added when new. */
static size_t prefixes_find(prefix_set *s, const candidate *all, size_t file, size_t len, uint64_t h,
                            size_t parent) {
  if (2 * (s->n + 1) > s->nslots)
    prefixes_grow(s, all);
  size_t at = (size_t)h & (s->nslots - 1);
  for (; s->slots[at]; at = (at + 1) & (s->nslots - 1))
    if (prefix_is(&s->v[s->slots[at] - 1], all, file, len))
      return s->slots[at] - 1;
  if (s->n == s->cap) {
    s->cap = s->cap ? s->cap * 2 : 64;
    s->v = xrealloc(s->v, s->cap * sizeof *s->v);
  }
  s->v[s->n] = (prefix){file, len, parent, 0, false};
  s->slots[at] = s->n + 1;
  return s->n++;
}

static int longer_first(const void *a, const void *b, void *data) {
  const prefix *v = data;
  size_t x = v[*(const size_t *)a].len, y = v[*(const size_t *)b].len;
  return x > y ? -1 : x < y;
}

/* The prefixes worth sharing, and which file shares which: from the
 * longest prefix up, one that enough files reach is shared by them, and
 * the files of one that too few reach move up to its parent. */
static void choose_prefixes(prefix_set *set) {
  size_t *order = xrealloc(NULL, (set->n ? set->n : 1) * sizeof *order);
  for (size_t i = 0; i < set->n; i++)
    order[i] = i;
  qsort_r(order, set->n, sizeof *order, longer_first, set->v);
  for (size_t i = 0; i < set->n; i++) {
    prefix *p = &set->v[order[i]];
    if (p->files >= MIN_SHARING_FILES)
      p->shared = true;
    else if (p->parent != NO_PREFIX)
      set->v[p->parent].files += p->files;
  }
  free(order);
}

static void print_sharing(const shared_plan *plan, const lint_job *jobs, size_t n) {
  for (size_t i = 0; i < plan->n; i++) {
    fprintf(stderr, "cwlint: %zu files share one parse of their first %zu directive%s:", plan->v[i].users,
            plan->v[i].directives, plan->v[i].directives == 1 ? "" : "s");
    for (size_t j = 0; j < n; j++)
      if (plan->header_of_job[j] == i)
        fprintf(stderr, " %s", jobs[j].path);
    fputc('\n', stderr);
  }
}

void shared_plan_make(shared_plan *plan, const lint_job *jobs, size_t n, const lint_options *opt) {
  *plan = (shared_plan){.header_of_job = xrealloc(NULL, (n ? n : 1) * sizeof *plan->header_of_job)};
  pthread_mutex_init(&plan->lock, NULL);
  pthread_cond_init(&plan->built, NULL);
  plan->verbose = opt->verbose;
  if (!opt->share_headers) {
    for (size_t j = 0; j < n; j++)
      plan->header_of_job[j] = NO_SHARED_HEADER;
    return;
  }
  candidate *all = xrealloc(NULL, (n ? n : 1) * sizeof *all);
  size_t *deepest = xrealloc(NULL, (n ? n : 1) * sizeof *deepest);
  prefix_set set = {0};
  for (size_t j = 0; j < n; j++) {
    plan->header_of_job[j] = NO_SHARED_HEADER;
    deepest[j] = NO_PREFIX;
    if (!candidate_read(&all[j], &jobs[j]))
      continue;
    const candidate *c = &all[j];
    uint64_t h = hash_bytes(14695981039346656037u, c->setting, c->setting_len);
    for (size_t k = 0, done = 0; k < c->ncuts; done = c->cut_lens[k++]) {
      h = hash_bytes(h, c->directives + done, c->cut_lens[k] - done);
      deepest[j] = prefixes_find(&set, all, j, c->cut_lens[k], h, deepest[j]);
    }
    set.v[deepest[j]].files++;
  }
  choose_prefixes(&set);
  bool any = false;
  for (size_t i = 0; i < set.n; i++)
    any |= set.v[i].shared;
  char tmp[4096];
  const char *tmpdir = getenv("TMPDIR");
  tmpdir = tmpdir && *tmpdir ? tmpdir : "/tmp";
  snprintf(tmp, sizeof tmp, "%s/cwlint-XXXXXX", tmpdir);
  if (any && mkdtemp(tmp))
    plan->dir = xstrndup(tmp, strlen(tmp));
  else if (any && opt->verbose)
    fprintf(stderr, "cwlint: cannot make a temporary directory in %s (%s): each file is parsed alone\n", tmpdir,
            strerror(errno));
  size_t *header_of_prefix = xrealloc(NULL, (set.n ? set.n : 1) * sizeof *header_of_prefix);
  for (size_t i = 0; i < set.n; i++)
    header_of_prefix[i] = NO_SHARED_HEADER;
  for (size_t j = 0; j < n; j++) {
    size_t p = deepest[j];
    while (p != NO_PREFIX && !set.v[p].shared)
      p = set.v[p].parent;
    if (p == NO_PREFIX || !plan->dir) /* no temporary directory: each file parses alone */
      continue;
    if (header_of_prefix[p] == NO_SHARED_HEADER) {
      const candidate *c = &all[set.v[p].file];
      plan->v = xrealloc(plan->v, (plan->n + 1) * sizeof *plan->v);
      plan->v[plan->n] = (shared_header){
          .text = xstrndup(c->directives, set.v[p].len),
          .len = set.v[p].len,
          .header = xasprintf("%s/.cwlint-shared-%ld-%zu.h", c->setting, (long)getpid(), plan->n),
          .pch = xasprintf("%s/%zu.pch", plan->dir, plan->n),
          .job = &jobs[j],
      };
      for (size_t k = 0; k < c->ncuts; k++)
        if (c->cut_lens[k] == set.v[p].len)
          plan->v[plan->n].directives = c->cut_counts[k];
      header_of_prefix[p] = plan->n++;
    }
    plan->header_of_job[j] = header_of_prefix[p];
    plan->v[header_of_prefix[p]].users++;
  }
  if (opt->verbose)
    print_sharing(plan, jobs, n);
  for (size_t j = 0; j < n; j++)
    if (deepest[j] != NO_PREFIX)
      candidate_free(&all[j]);
  free(all);
  free(deepest);
  free(header_of_prefix);
  free(set.v);
  free(set.slots);
}

/* ---- building and using them ------------------------------------------------------------ */

static bool has_errors(CXTranslationUnit tu) {
  bool any = false;
  for (unsigned i = 0, n = clang_getNumDiagnostics(tu); i < n && !any; i++) {
    CXDiagnostic d = clang_getDiagnostic(tu, i);
    any = clang_getDiagnosticSeverity(d) >= CXDiagnostic_Error;
    clang_disposeDiagnostic(d);
  }
  return any;
}

void shared_build(shared_plan *plan, size_t i, CXIndex index) {
  shared_header *s = &plan->v[i];
  struct CXUnsavedFile header = {s->header, s->text, s->len};
  CXTranslationUnit tu;
  /* Incomplete: what C completes at the end of a file (tentative
   * definitions) is left to the files that use the header. */
  bool built = clang_parseTranslationUnit2(index, s->header, (const char *const *)s->job->args, s->job->nargs,
                                           &header, 1, CXTranslationUnit_Incomplete | CXTranslationUnit_ForSerialization,
                                           &tu) == CXError_Success;
  if (built) {
    built = !has_errors(tu) && clang_saveTranslationUnit(tu, s->pch, clang_defaultSaveOptions(tu)) == CXSaveError_None;
    clang_disposeTranslationUnit(tu);
  }
  pthread_mutex_lock(&plan->lock);
  if (!built && plan->verbose)
    fprintf(stderr, "cwlint: the first %zu directive%s of %s do not compile alone: each of its files is parsed alone\n",
            s->directives, s->directives == 1 ? "" : "s", s->job->path);
  if (!built) {
    unlink(s->pch);
    free(s->pch);
    s->pch = NULL;
  }
  s->done = true;
  pthread_cond_broadcast(&plan->built);
  pthread_mutex_unlock(&plan->lock);
}

CXTranslationUnit shared_parse(shared_plan *plan, size_t job, CXIndex index, const lint_job *j, char **text,
                               size_t *len) {
  shared_header *s = &plan->v[plan->header_of_job[job]];
  pthread_mutex_lock(&plan->lock);
  while (!s->done)
    pthread_cond_wait(&plan->built, &plan->lock);
  pthread_mutex_unlock(&plan->lock);
  if (!s->pch || !(*text = read_file(j->source, len)))
    return NULL;
  /* The file is read again: it must still begin with the header's lines. */
  head h;
  head_scan(&h, *text, *len);
  size_t hlen = 0;
  char *directives = h.n >= s->directives ? head_text(&h, *text, s->directives, &hlen) : NULL;
  bool unchanged = directives && hlen == s->len && memcmp(directives, s->text, hlen) == 0;
  free(directives);
  CXTranslationUnit tu = NULL;
  if (unchanged) {
    char *blanked = xstrndup(*text, *len);
    for (size_t k = 0; k < s->directives; k++)
      for (size_t b = h.v[k].begin; b < h.v[k].end; b++)
        if (blanked[b] != '\n' && blanked[b] != '\r')
          blanked[b] = ' ';
    const char **args = xrealloc(NULL, (size_t)(j->nargs + 2) * sizeof *args);
    memcpy(args, j->args, (size_t)j->nargs * sizeof *args);
    args[j->nargs] = "-include-pch";
    args[j->nargs + 1] = s->pch;
    struct CXUnsavedFile files[] = {{j->source, blanked, *len}, {s->header, s->text, s->len}};
    if (clang_parseTranslationUnit2(index, j->source, args, j->nargs + 2, files, 2, CXTranslationUnit_None, &tu) !=
        CXError_Success)
      tu = NULL;
    else if (has_errors(tu)) { /* reported as the file's own parse reports them */
      clang_disposeTranslationUnit(tu);
      tu = NULL;
    }
    free(args);
    free(blanked);
  }
  if (!tu) {
    if (plan->verbose)
      fprintf(stderr, "cwlint: %s: parsed alone: %s\n", j->path,
              unchanged ? "it does not compile with its shared header" : "it changed while being linted");
    free(*text);
    *text = NULL;
  }
  head_free(&h);
  return tu;
}

void shared_done(shared_plan *plan, size_t job) {
  shared_header *s = &plan->v[plan->header_of_job[job]];
  pthread_mutex_lock(&plan->lock);
  if (--s->users == 0 && s->pch)
    unlink(s->pch);
  pthread_mutex_unlock(&plan->lock);
}

void shared_plan_free(shared_plan *plan) {
  for (size_t i = 0; i < plan->n; i++) {
    if (plan->v[i].pch)
      unlink(plan->v[i].pch);
    free(plan->v[i].text);
    free(plan->v[i].header);
    free(plan->v[i].pch);
  }
  if (plan->dir)
    rmdir(plan->dir);
  free(plan->dir);
  free(plan->v);
  free(plan->header_of_job);
  pthread_mutex_destroy(&plan->lock);
  pthread_cond_destroy(&plan->built);
}
