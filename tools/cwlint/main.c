/* cwlint: finds floating tasks, awaits in loops and the mistakes around
 * them in C code using clockwork.
 *
 *   cwlint [options] FILE... [-- COMPILER FLAGS]
 *
 * Exit status: 0 clean, 1 findings, 2 usage or parse errors. */
#include "cwlint.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *out) {
  fputs("usage: cwlint [options] FILE... [-- COMPILER FLAGS]\n"
        "  -p BUILD_DIR            take files and flags from BUILD_DIR/compile_commands.json\n"
        "                          (all of its files when none are named)\n"
        "  -j N                    lint N files at a time (default: one per CPU)\n"
        "  --format=text|json|sarif\n"
        "  --enable=RULE, --disable=RULE   (RULE may be 'all'; applied in order)\n"
        "  --report-unused-ignores report cwlint-ignore comments that suppress nothing\n"
        "  --config=FILE           project configuration (default: the nearest .cwlint upward)\n"
        "  --no-shared-headers     parse every file alone, even the leading #include lines\n"
        "                          that files of one directory have in common\n"
        "  -v, --verbose           say on stderr which files share a parse of their headers\n"
        "  --list-rules            print the rules and exit\n"
        "rules:",
        out);
  for (size_t i = 0; i + 1 < lint_rule_count; i++)
    fprintf(out, " %s", lint_rules[i].name);
  fputc('\n', out);
}

static int usage_error(const char *fmt, const char *arg) {
  fputs("cwlint: ", stderr);
  fprintf(stderr, fmt, arg);
  fputs("\n(cwlint --help for usage)\n", stderr);
  return 2;
}

/* The value of option name at argv[*i]: "--name=value", "-pvalue", or
 * "--name value" / "-p value" with the value in the next argument. NULL when argv[*i] is
 * another option; *missing when the value is absent. */
static const char *option_value(int argc, char **argv, int *i, const char *name, bool *missing) {
  size_t len = strlen(name);
  if (strncmp(argv[*i], name, len) != 0)
    return NULL;
  if (argv[*i][len] == '=')
    return argv[*i] + len + 1;
  if (argv[*i][len] != '\0')
    return len == 2 ? argv[*i] + 2 : NULL; /* -j4, -pbuild */
  if (*i + 1 >= argc) {
    *missing = true;
    return NULL;
  }
  return argv[++*i];
}

/* Applies --enable/--disable RULE; false for an unknown rule. */
static bool set_rule(bool *enabled, const char *name, bool on) {
  if (strcmp(name, "all") == 0) {
    for (size_t r = 0; r < lint_rule_count; r++)
      enabled[r] = on;
    return true;
  }
  int r = rule_index(name);
  if (r < 0 || lint_rules[r].run == NULL)
    return false;
  enabled[r] = on;
  return true;
}

typedef struct cli {
  lint_options opt;
  lint_format format;
  int threads; /* 0: one per CPU */
  const char *build_dir;
  const char *config;
  char **files;
  size_t nfiles;
  char **extra;
  int nextra;
} cli;

/* Reads the command line into c; returns -1 to go on, else the exit status. */
static int parse_cli(cli *c, int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v;
    bool missing = false;
    if (strcmp(a, "--") == 0) {
      c->extra = argv + i + 1;
      c->nextra = argc - i - 1;
      break;
    } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      usage(stdout);
      return 0;
    } else if (strcmp(a, "--list-rules") == 0) {
      for (size_t r = 0; r + 1 < lint_rule_count; r++)
        printf("%-18s %-7s %s\n", lint_rules[r].name, lint_rules[r].error ? "error" : "warning",
               lint_rules[r].summary);
      return 0;
    } else if (strcmp(a, "--report-unused-ignores") == 0) {
      c->opt.report_unused_ignores = true;
    } else if (strcmp(a, "--no-shared-headers") == 0) {
      c->opt.share_headers = false;
    } else if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) {
      c->opt.verbose = true;
    } else if ((v = option_value(argc, argv, &i, "-p", &missing))) {
      c->build_dir = v;
    } else if ((v = option_value(argc, argv, &i, "-j", &missing))) {
      char *end;
      long n = strtol(v, &end, 10);
      if (*end || n < 1 || n > 256)
        return usage_error("-j wants a number from 1 to 256, not '%s'", v);
      c->threads = (int)n;
    } else if ((v = option_value(argc, argv, &i, "--format", &missing))) {
      if (strcmp(v, "text") == 0)
        c->format = FORMAT_TEXT;
      else if (strcmp(v, "json") == 0)
        c->format = FORMAT_JSON;
      else if (strcmp(v, "sarif") == 0)
        c->format = FORMAT_SARIF;
      else
        return usage_error("unknown format '%s' (text, json or sarif)", v);
    } else if ((v = option_value(argc, argv, &i, "--enable", &missing)) ||
               (v = option_value(argc, argv, &i, "--disable", &missing))) {
      if (!set_rule(c->opt.enabled, v, a[2] == 'e'))
        return usage_error("unknown rule '%s' (cwlint --list-rules)", v);
    } else if ((v = option_value(argc, argv, &i, "--config", &missing))) {
      c->config = v;
    } else if (missing) {
      return usage_error("%s wants a value", a);
    } else if (a[0] == '-' && a[1]) {
      return usage_error("unknown option '%s'", a);
    } else {
      c->files[c->nfiles++] = argv[i];
    }
  }
  if (!c->nfiles && !c->build_dir)
    return usage_error("%s", "no file to lint");
  return -1;
}

int main(int argc, char **argv) {
  bool *enabled = xrealloc(NULL, lint_rule_count * sizeof *enabled);
  for (size_t r = 0; r < lint_rule_count; r++)
    enabled[r] = true;
  cli c = {.opt = {.enabled = enabled, .share_headers = true}, .threads = 0, .files = xrealloc(NULL, (size_t)argc * sizeof(char *))};
  int status = parse_cli(&c, argc, argv);
  char *found = NULL;
  if (status < 0) {
    const char *config = c.config ? c.config : (found = config_find());
    if (config && !config_load(&c.opt.config, config))
      status = 2;
  }
  lint_job *jobs = NULL;
  size_t njobs = 0;
  if (status < 0 && c.build_dir) {
    if (!jobs_from_database(c.build_dir, c.files, c.nfiles, c.extra, c.nextra, &jobs, &njobs))
      status = 2;
  } else if (status < 0) {
    jobs = xrealloc(NULL, c.nfiles * sizeof *jobs);
    for (njobs = 0; njobs < c.nfiles; njobs++)
      job_init(&jobs[njobs], c.files[njobs], c.extra, c.nextra);
  }
  if (status < 0) {
    file_result *results = xrealloc(NULL, njobs * sizeof *results);
    memset(results, 0, njobs * sizeof *results);
    lint_run(&c.opt, jobs, njobs, results, c.threads);
    output_write(c.format, jobs, results, njobs);
    status = 0;
    for (size_t i = 0; i < njobs; i++) {
      if (results[i].errors) {
        fputs(results[i].errors, stderr);
        status = 2;
      } else if (results[i].n && status == 0) {
        status = 1;
      }
      result_free(&results[i]);
    }
    free(results);
  }
  for (size_t i = 0; i < njobs; i++)
    job_free(&jobs[i]);
  free(jobs);
  free(found);
  free(c.files);
  free(enabled);
  config_free(&c.opt.config);
  return status;
}
