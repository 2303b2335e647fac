#include "child.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

const char *child_self;

int run_self(const char *mode, char *output, size_t size) {
  int out[2], status;
  assert_int_equal(pipe(out), 0);
  pid_t child = fork();
  assert_true(child >= 0);
  if (child == 0) {
    dup2(out[1], STDOUT_FILENO);
    dup2(out[1], STDERR_FILENO);
    execl(child_self, child_self, mode, (char *)NULL);
    _exit(127);
  }
  close(out[1]);
  size_t len = 0;
  ssize_t n;
  while ((n = read(out[0], output + len, size - 1 - len)) > 0 || (n < 0 && errno == EINTR))
    if (n > 0)
      len += (size_t)n;
  output[len] = '\0';
  close(out[0]);
  assert_int_equal(waitpid(child, &status, 0), child);
  return status;
}

volatile int overflow_stop = -1;

__attribute__((noinline)) int overflow_recurse(int n) {
  volatile char frame[256];
  frame[0] = (char)n;
  if (n == overflow_stop)
    return 0;
  return overflow_recurse(n + 1) + frame[0];
}
