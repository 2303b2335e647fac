/* blocking-call: a call that blocks the thread inside a task or inside a
 * function the core or libuv calls back on the loop thread: while it
 * blocks, no timer, I/O completion or other task runs. */
#include "cwlint.h"

#include <stdlib.h>
#include <string.h>

typedef struct blocking_group {
  const char *const *names;
  const char *note;
} blocking_group;

static const char *const sleeps[] = {"sleep", "usleep", "nanosleep", "clock_nanosleep", "thrd_sleep", "uv_sleep", NULL};
static const char *const files[] = {"open",    "openat",  "creat",  "read",     "write",    "pread",  "pwrite",
                                    "readv",   "writev",  "fsync",  "fdatasync", "sync",    "fopen",  "freopen",
                                    "fread",   "fwrite",  "fgets",  "fscanf",   "getline",  "getdelim", "stat",
                                    "lstat",   "unlink",  "rename", "mkdir",    "rmdir",    "opendir", "readdir",
                                    "truncate", "ftruncate", NULL};
static const char *const processes[] = {"system", "popen", "pclose", "wait", "waitpid", "waitid", NULL};
static const char *const network[] = {"gethostbyname", "gethostbyaddr", "getaddrinfo", "getnameinfo", "connect",
                                      "accept",        "recv",          "recvfrom",    "send",        "sendto",
                                      "select",        "poll",          "epoll_wait",  NULL};
static const char *const waits[] = {"pthread_join",   "pthread_cond_wait", "sem_wait",       "thrd_join",
                                    "uv_thread_join", "uv_sem_wait",       "uv_cond_wait",   "uv_barrier_wait",
                                    NULL};

static const blocking_group groups[] = {
    {sleeps, "await cw_sleep() in a task, or schedule the rest with cw_set_timeout()"},
    {files, "use the cw_fs_* promises of clockwork/io.h"},
    {processes, "start it with uv_spawn(), or run it off the loop with cw_work()"},
    {network, "use cw_tcp_* and cw_dns_resolve() of clockwork/io.h"},
    {waits, "wait on a promise instead of blocking the loop thread"},
};

/* libuv requests that run synchronously when given no callback. */
static bool sync_libuv_request(lint_unit *u, CXCursor call, const char *name) {
  if (strncmp(name, "uv_fs_", 6) != 0 && strcmp(name, "uv_getaddrinfo") != 0 && strcmp(name, "uv_getnameinfo") != 0 &&
      strcmp(name, "uv_random") != 0)
    return false;
  CXType ft = clang_getCursorType(lint_callee(u, call));
  int n = clang_Cursor_getNumArguments(call);
  for (int i = 0; i < n && i < clang_getNumArgTypes(ft); i++) {
    CXString ts = clang_getTypeSpelling(clang_getArgType(ft, (unsigned)i));
    const char *t = clang_getCString(ts);
    size_t len = strlen(t);
    bool callback = len > 3 && strcmp(t + len - 3, "_cb") == 0;
    clang_disposeString(ts);
    if (callback)
      return lint_is_null(u, clang_Cursor_getArgument(call, (unsigned)i));
  }
  return false;
}

/* Why call blocks (the fix to suggest), or NULL. */
static const char *blocking_note(lint_unit *u, CXCursor call, const char *name) {
  for (size_t g = 0; g < sizeof groups / sizeof *groups; g++)
    for (const char *const *n = groups[g].names; *n; n++)
      if (strcmp(*n, name) == 0)
        return groups[g].note;
  if (sync_libuv_request(u, call, name))
    return "pass a callback, or await the cw_fs_* / cw_dns_resolve() promise instead";
  if (names_has(&u->opt->config.blocking, name))
    return "run it off the loop with cw_work()";
  return NULL;
}

typedef struct scan {
  lint_unit *u;
  const char *role; /* "task" or "callback" */
  const char *function;
} scan;

static enum CXChildVisitResult find_blocking(CXCursor c, CXCursor parent, CXClientData data) {
  (void)parent;
  scan *s = data;
  if (c.kind != CXCursor_CallExpr)
    return CXChildVisit_Recurse;
  const char *name = lint_callee_name(s->u, c);
  if (!name)
    return CXChildVisit_Recurse;
  const char *note = blocking_note(s->u, c, name);
  if (note) {
    char *message = xasprintf("blocking call to '%s' in %s '%s' stalls the event loop", name, s->role, s->function);
    lint_report(s->u, "blocking-call", clang_getRangeStart(clang_getCursorExtent(c)), message, note);
    free(message);
  }
  return CXChildVisit_Recurse;
}

void rule_blocking_call(lint_unit *u, CXCursor function) {
  const char *role = lint_is_task_function(u, function) ? "task"
                     : unit_is_callback(u, function)    ? "callback"
                                                        : NULL;
  if (!role)
    return;
  CXString cs = clang_getCursorSpelling(function);
  scan s = {u, role, clang_getCString(cs)};
  lint_visit(u, function, find_blocking, &s);
  clang_disposeString(cs);
}
