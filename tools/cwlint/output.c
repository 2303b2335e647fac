/* The findings as GCC-style text, as JSON, or as SARIF 2.1.0 for code
 * scanning. Files come in the order given, findings by line and column. */
#include "cwlint.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Where a walk down a file's lines is: findings come in line order. */
typedef struct line_cursor {
  const char *p; /* the start of line */
  unsigned line;
} line_cursor;

/* The text of line (1-based) of r's file, and its length. */
static const char *source_line(const file_result *r, line_cursor *at, unsigned line, size_t *len) {
  const char *p = at->p, *end = r->text + r->len;
  unsigned l = at->line;
  if (line < l)
    p = r->text, l = 1;
  for (; l < line && p < end; l++) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    p = nl ? nl + 1 : end;
  }
  *at = (line_cursor){p, l};
  const char *eol = memchr(p, '\n', (size_t)(end - p));
  *len = (size_t)((eol ? eol : end) - p);
  if (*len && p[*len - 1] == '\r')
    (*len)--;
  return p;
}

static void write_text(const lint_job *jobs, const file_result *results, size_t n) {
  for (size_t i = 0; i < n; i++) {
    line_cursor at = {results[i].text, 1};
    for (size_t k = 0; k < results[i].n; k++) {
      const finding *f = &results[i].v[k];
      const rule_info *rule = &lint_rules[f->rule];
      printf("%s:%u:%u: %s: %s [%s]\n", jobs[i].path, f->line, f->col, rule->error ? "error" : "warning",
             f->message, rule->name);
      size_t len;
      const char *src = source_line(&results[i], &at, f->line, &len);
      printf("%.*s\n", (int)len, src);
      /* The caret under the column, tabs kept so that it lines up. */
      for (unsigned c = 1; c < f->col && c <= len; c++)
        putchar(src[c - 1] == '\t' ? '\t' : ' ');
      puts("^");
      printf("%s:%u:%u: note: %s\n", jobs[i].path, f->line, f->col, f->note);
    }
  }
}

static void json_string(const char *s) {
  putchar('"');
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\')
      printf("\\%c", c);
    else if (c == '\n')
      fputs("\\n", stdout);
    else if (c == '\t')
      fputs("\\t", stdout);
    else if (c < 0x20)
      printf("\\u%04x", c);
    else
      putchar(c);
  }
  putchar('"');
}

static void write_json(const lint_job *jobs, const file_result *results, size_t n) {
  const char *sep = "\n";
  putchar('[');
  for (size_t i = 0; i < n; i++)
    for (size_t k = 0; k < results[i].n; k++) {
      const finding *f = &results[i].v[k];
      const rule_info *rule = &lint_rules[f->rule];
      printf("%s  {\"file\": ", sep);
      json_string(jobs[i].path);
      printf(", \"line\": %u, \"column\": %u, \"rule\": \"%s\", \"severity\": \"%s\", \"message\": ", f->line,
             f->col, rule->name, rule->error ? "error" : "warning");
      json_string(f->message);
      fputs(", \"note\": ", stdout);
      json_string(f->note);
      putchar('}');
      sep = ",\n";
    }
  puts(*sep == ',' ? "\n]" : "]");
}

/* A path as a URI reference: relative paths stay relative (code scanning
 * resolves them against the checkout), reserved characters are escaped. */
static void json_uri(const char *path) {
  putchar('"');
  if (path[0] == '/')
    fputs("file://", stdout);
  for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
    if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || strchr("-._~/", *p))
      putchar(*p);
    else
      printf("%%%02X", *p);
  }
  putchar('"');
}

static void write_sarif(const lint_job *jobs, const file_result *results, size_t n) {
  puts("{\n  \"$schema\": \"https://json.schemastore.org/sarif-2.1.0.json\",\n  \"version\": \"2.1.0\",");
  puts("  \"runs\": [{\n    \"tool\": {\"driver\": {\"name\": \"cwlint\", \"version\": \"0.1.0\", \"rules\": [");
  for (size_t r = 0; r < lint_rule_count; r++) {
    printf("      {\"id\": \"%s\", \"shortDescription\": {\"text\": ", lint_rules[r].name);
    json_string(lint_rules[r].summary);
    printf("}, \"defaultConfiguration\": {\"level\": \"%s\"}}%s\n", lint_rules[r].error ? "error" : "warning",
           r + 1 < lint_rule_count ? "," : "");
  }
  fputs("    ]}},\n    \"results\": [", stdout);
  const char *sep = "\n";
  for (size_t i = 0; i < n; i++)
    for (size_t k = 0; k < results[i].n; k++) {
      const finding *f = &results[i].v[k];
      const rule_info *rule = &lint_rules[f->rule];
      printf("%s      {\"ruleId\": \"%s\", \"ruleIndex\": %d, \"level\": \"%s\", \"message\": {\"text\": ", sep,
             rule->name, f->rule, rule->error ? "error" : "warning");
      char *text = xasprintf("%s (%s)", f->message, f->note);
      json_string(text);
      free(text);
      fputs("},\n       \"locations\": [{\"physicalLocation\": {\"artifactLocation\": {\"uri\": ", stdout);
      json_uri(jobs[i].path);
      printf("}, \"region\": {\"startLine\": %u, \"startColumn\": %u}}}]}", f->line, f->col);
      sep = ",\n";
    }
  puts(*sep == ',' ? "\n    ]\n  }]\n}" : "]\n  }]\n}");
}

void output_write(lint_format format, const lint_job *jobs, const file_result *results, size_t n) {
  if (format == FORMAT_JSON)
    write_json(jobs, results, n);
  else if (format == FORMAT_SARIF)
    write_sarif(jobs, results, n);
  else
    write_text(jobs, results, n);
}
