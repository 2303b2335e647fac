/* The project's configuration: a .cwlint file (or --config FILE) of
 * "key name" lines naming its own task types, task-returning and task
 * functions, blocking functions and await-like functions. */
#include "cwlint.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static name_list *config_list(lint_config *c, const char *key, size_t len) {
  static const struct {
    const char *key;
    size_t offset;
  } keys[] = {
      {"task-type", offsetof(lint_config, task_types)}, {"task-returning", offsetof(lint_config, task_returning)},
      {"task", offsetof(lint_config, tasks)},           {"blocking", offsetof(lint_config, blocking)},
      {"await", offsetof(lint_config, awaits)},
  };
  for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
    if (strlen(keys[i].key) == len && memcmp(keys[i].key, key, len) == 0)
      return (name_list *)((char *)c + keys[i].offset);
  return NULL;
}

static bool blank(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

bool config_load(lint_config *c, const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) {
    fprintf(stderr, "cwlint: %s: %s\n", path, strerror(errno));
    return false;
  }
  char buf[1024];
  bool ok = true;
  for (unsigned line = 1; ok && fgets(buf, sizeof buf, f); line++) {
    char *hash = strchr(buf, '#');
    if (hash)
      *hash = '\0';
    char *key = buf;
    while (blank(*key))
      key++;
    if (!*key)
      continue;
    char *value = key;
    while (*value && !blank(*value))
      value++;
    size_t keylen = (size_t)(value - key);
    while (blank(*value))
      value++;
    size_t len = strlen(value);
    while (len && blank(value[len - 1]))
      len--;
    name_list *list = config_list(c, key, keylen);
    if (!list || !len) {
      fprintf(stderr, "cwlint: %s:%u: %s '%.*s' (keys: task-type, task-returning, task, blocking, await)\n", path,
              line, list ? "no name after" : "unknown key", (int)keylen, key);
      ok = false;
    } else {
      names_add(list, value, len);
    }
  }
  fclose(f);
  return ok;
}

char *config_find(void) {
  char dir[4096];
  if (!getcwd(dir, sizeof dir))
    return NULL;
  for (;;) {
    char *path = xasprintf("%s/.cwlint", strcmp(dir, "/") == 0 ? "" : dir);
    if (access(path, R_OK) == 0)
      return path;
    free(path);
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir)
      return NULL;
    *slash = '\0';
  }
}

void config_free(lint_config *c) {
  names_free(&c->task_types);
  names_free(&c->task_returning);
  names_free(&c->tasks);
  names_free(&c->blocking);
  names_free(&c->awaits);
}
