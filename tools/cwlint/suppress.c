/* "// cwlint-ignore: RULE[, RULE]" comments: each silences the rules it
 * names on its own line and on the line after it. */
#include "cwlint.h"

#include <stdlib.h>
#include <string.h>

#define MARKER "cwlint-ignore:"

static bool rule_char(char c) {
  return c == '-' || c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* Reads the names after the marker at p, up to the end of the line. */
static void parse_names(ignore_comment *ic, const char *p, const char *eol) {
  while (p < eol) {
    while (p < eol && (*p == ' ' || *p == '\t' || *p == ','))
      p++;
    const char *start = p;
    while (p < eol && rule_char(*p))
      p++;
    if (p == start)
      break; /* the rest is prose */
    names_add(&ic->rules, start, (size_t)(p - start));
  }
  ic->used = xrealloc(NULL, ic->rules.n * sizeof *ic->used);
  memset(ic->used, 0, ic->rules.n * sizeof *ic->used);
}

void ignores_scan(ignore_list *l, const char *text, size_t len) {
  *l = (ignore_list){0};
  unsigned line = 1;
  for (const char *p = text, *end = text + len; p < end; line++) {
    const char *eol = memchr(p, '\n', (size_t)(end - p));
    if (!eol)
      eol = end;
    const char *slash = p;
    while ((slash = memchr(slash, '/', (size_t)(eol - slash))) && slash + 1 < eol && slash[1] != '/')
      slash++;
    if (slash && slash + 1 < eol) {
      const char *m = slash + 2;
      while (m < eol && (*m == ' ' || *m == '\t'))
        m++;
      if ((size_t)(eol - m) >= strlen(MARKER) && memcmp(m, MARKER, strlen(MARKER)) == 0) {
        if (l->n == l->cap) {
          l->cap = l->cap ? l->cap * 2 : 8;
          l->v = xrealloc(l->v, l->cap * sizeof *l->v);
        }
        ignore_comment *ic = &l->v[l->n++];
        *ic = (ignore_comment){line, (unsigned)(slash - p) + 1, {0}, NULL};
        parse_names(ic, m + strlen(MARKER), eol);
      }
    }
    p = eol + 1;
  }
}

bool ignores_match(ignore_list *l, const char *rule, unsigned line) {
  for (size_t i = 0; i < l->n; i++) {
    ignore_comment *ic = &l->v[i];
    if (ic->line != line && ic->line + 1 != line)
      continue;
    for (size_t k = 0; k < ic->rules.n; k++)
      if (strcmp(ic->rules.v[k], rule) == 0) {
        ic->used[k] = true;
        return true;
      }
  }
  return false;
}

void ignores_report_unused(const ignore_list *l, const lint_options *opt, file_result *r) {
  int rule = rule_index(UNUSED_IGNORE_RULE);
  for (size_t i = 0; i < l->n; i++) {
    const ignore_comment *ic = &l->v[i];
    for (size_t k = 0; k < ic->rules.n; k++) {
      int named = rule_index(ic->rules.v[k]);
      if (ic->used[k] || (named >= 0 && !opt->enabled[named]))
        continue;
      char *message = named < 0 ? xasprintf("cwlint-ignore names an unknown rule '%s'", ic->rules.v[k])
                                : xasprintf("cwlint-ignore: %s suppresses nothing here", ic->rules.v[k]);
      result_add(r, ic->line, ic->col, rule, message, xasprintf("remove '%s' from the comment", ic->rules.v[k]));
    }
  }
}

void ignores_free(ignore_list *l) {
  for (size_t i = 0; i < l->n; i++) {
    names_free(&l->v[i].rules);
    free(l->v[i].used);
  }
  free(l->v);
  *l = (ignore_list){0};
}
