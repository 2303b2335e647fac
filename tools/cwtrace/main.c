/* cwtrace: turns a CW_TRACE file into Chrome Trace Event JSON and an SVG
 * timeline. Exit status: 0 done, 1 a bad trace or an I/O error, 2 bad usage. */
#include "cwtrace.h"

#include <errno.h>
#include <getopt.h>
#include <string.h>

static const char usage[] =
    "usage: cwtrace [--chrome OUT.json] [--svg OUT.svg] [--title TITLE] TRACE.jsonl\n"
    "Reads a CW_TRACE file (JSON lines of labels and operations) and writes it as\n"
    "Chrome Trace Event JSON (for Perfetto or chrome://tracing) and/or as an SVG\n"
    "timeline of the operations in flight over virtual time. \"-\" is stdin or stdout.\n";

typedef bool (*writer)(const tr_trace *t, const char *title, FILE *out);

static bool write_chrome(const tr_trace *t, const char *title, FILE *out) {
  (void)title;
  return tr_write_chrome(t, out);
}

/* Writes path with fn; on failure says why and leaves no partial file. */
static bool write_output(const char *path, writer fn, const tr_trace *t, const char *title) {
  bool to_stdout = strcmp(path, "-") == 0;
  FILE *out = to_stdout ? stdout : fopen(path, "w");
  if (!out) {
    fprintf(stderr, "cwtrace: cannot write %s: %s\n", path, strerror(errno));
    return false;
  }
  errno = 0;
  bool ok = fn(t, title, out);
  int err = errno;
  if (to_stdout ? fflush(out) != 0 : fclose(out) != 0) {
    ok = false;
    err = err ? err : errno;
  }
  if (!ok) {
    fprintf(stderr, "cwtrace: cannot write %s: %s\n", path, strerror(err ? err : EIO));
    if (!to_stdout)
      remove(path);
  }
  return ok;
}

int main(int argc, char **argv) {
  static const struct option options[] = {
      {"chrome", required_argument, NULL, 'c'}, {"svg", required_argument, NULL, 's'},
      {"title", required_argument, NULL, 't'},  {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  const char *chrome = NULL, *svg = NULL, *title = NULL;
  int c;
  while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
    switch (c) {
    case 'c': chrome = optarg; break;
    case 's': svg = optarg; break;
    case 't': title = optarg; break;
    case 'h': fputs(usage, stdout); return 0;
    default: fputs(usage, stderr); return 2;
    }
  }
  if (optind != argc - 1) {
    fprintf(stderr, "cwtrace: %s\n%s", optind == argc ? "no trace file given" : "one trace file only", usage);
    return 2;
  }
  if (!chrome && !svg) {
    fprintf(stderr, "cwtrace: nothing to write: give --chrome, --svg or both\n%s", usage);
    return 2;
  }
  const char *path = argv[optind];
  bool from_stdin = strcmp(path, "-") == 0;
  FILE *in = from_stdin ? stdin : fopen(path, "r");
  if (!in) {
    fprintf(stderr, "cwtrace: cannot read %s: %s\n", path, strerror(errno));
    return 1;
  }
  tr_trace t = {0};
  char err[512];
  bool ok = tr_read(&t, in, from_stdin ? "<stdin>" : path, err, sizeof err);
  if (!from_stdin)
    fclose(in);
  if (!ok)
    fprintf(stderr, "cwtrace: %s\n", err);
  if (ok && t.n_runs == 0) {
    fprintf(stderr, "cwtrace: %s holds no labels and no operations\n", path);
    ok = false;
  }
  ok = ok && (!chrome || write_output(chrome, write_chrome, &t, NULL));
  ok = ok && (!svg || write_output(svg, tr_write_svg, &t, title ? title : path));
  tr_free(&t);
  return ok ? 0 : 1;
}
