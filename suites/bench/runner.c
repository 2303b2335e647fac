#include "runner.h"

#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static void read_figure(node_figures *out, const char *key, const char *value) {
  if (strcmp(key, "version") == 0)
    snprintf(out->version, sizeof out->version, "%s", value);
  else if (strcmp(key, "ns") == 0)
    out->ns = strtod(value, NULL);
  else if (strcmp(key, "ns_first") == 0)
    out->ns_first = strtod(value, NULL);
  else if (strcmp(key, "rss_first") == 0)
    out->rss_first_kib = strtol(value, NULL, 10);
  else if (strcmp(key, "rss_end") == 0)
    out->rss_end_kib = strtol(value, NULL, 10);
}

int node_run(const char *node, const char *script, node_figures *out) {
  int fds[2];
  if (pipe(fds) != 0) {
    perror("bench: pipe");
    return -1;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&actions, fds[0]);
  posix_spawn_file_actions_addclose(&actions, fds[1]);
  char *argv[] = {(char *)node, (char *)script, NULL};
  pid_t pid;
  int err = posix_spawnp(&pid, node, &actions, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  close(fds[1]);
  if (err != 0) {
    fprintf(stderr, "bench: cannot run %s: %s\n", node, strerror(err));
    close(fds[0]);
    return -1;
  }

  memset(out, 0, sizeof *out);
  FILE *in = fdopen(fds[0], "r");
  if (!in) {
    perror("bench: fdopen");
    close(fds[0]);
    waitpid(pid, NULL, 0);
    return -1;
  }
  char line[256], key[32], value[64];
  while (fgets(line, sizeof line, in))
    if (sscanf(line, "%31s %63s", key, value) == 2)
      read_figure(out, key, value);
  fclose(in);

  int status;
  if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    fprintf(stderr, "bench: %s %s failed\n", node, script);
    return -1;
  }
  if (out->ns <= 0) {
    fprintf(stderr, "bench: %s printed no timing\n", script);
    return -1;
  }
  return 0;
}

uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

long max_rss_kib(void) {
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

const char *verdict(bool met) { return met ? "PASS" : "MISS"; }
