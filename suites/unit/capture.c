#include "capture.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <unistd.h>

#include <cmocka.h>

static FILE *sink;
static int saved_fd = -1;
static char text[8192];

void stderr_capture_begin(void) {
  fflush(stderr);
  sink = tmpfile();
  saved_fd = dup(STDERR_FILENO);
  if (!sink || saved_fd < 0 || dup2(fileno(sink), STDERR_FILENO) < 0)
    fail_msg("cannot redirect stderr");
}

const char *stderr_capture_end(void) {
  fflush(stderr);
  dup2(saved_fd, STDERR_FILENO);
  close(saved_fd);
  saved_fd = -1;
  rewind(sink);
  size_t n = fread(text, 1, sizeof text - 1, sink);
  text[n] = '\0';
  bool whole = fgetc(sink) == EOF;
  fclose(sink);
  sink = NULL;
  if (!whole)
    fail_msg("more than %zu bytes were written to stderr", sizeof text - 1);
  return text;
}
