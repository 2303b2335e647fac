/* Reports of API misuse: the caller's site, what was wrong, never a crash. */
#define _GNU_SOURCE
#include "core_internal.h"

#include <dlfcn.h>

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static cw_misuse_fn misuse_hook;
static void *misuse_hook_arg;
static unsigned long misuse_total;
static _Thread_local cw_loop *running_loop;

cw_loop *misuse_set_loop(cw_loop *loop) {
  cw_loop *previous = running_loop;
  running_loop = loop;
  return previous;
}

void cw_on_misuse(cw_misuse_fn fn, void *arg) {
  misuse_hook = fn;
  misuse_hook_arg = arg;
}

unsigned long cw_misuse_count(void) { return misuse_total; }

void misuse(cw_loop *loop, const char *function, const char *file, int line, const char *fmt, ...) {
  char message[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(message, sizeof message, fmt, ap);
  va_end(ap);
  misuse_total++;
  if (!loop) /* a NULL or stale handle: charge the loop that is running */
    loop = running_loop;
  if (loop)
    loop->misuses++;
  cw_misuse m = {function, message, file ? file : "?", line};
  if (misuse_hook)
    misuse_hook(misuse_hook_arg, &m);
  else
    fprintf(stderr, "clockwork: misuse of %s at %s:%d: %s\n", m.function, m.file, m.line, m.message);
}

/* Static functions have no dynamic symbol: then the module and the offset,
 * which addr2line -f -e MODULE OFFSET turns into a name. Visible outside
 * the shared library for the harness (harness_internal.h); not an API. */
__attribute__((visibility("default"))) const char *cw__describe_fn(const void *fn, char *buf, size_t size) {
  Dl_info info;
  if (!fn || !dladdr(fn, &info)) {
    snprintf(buf, size, "%p", fn);
  } else if (info.dli_sname) {
    uintptr_t offset = (uintptr_t)fn - (uintptr_t)info.dli_saddr;
    snprintf(buf, size, offset ? "%s+0x%lx" : "%s", info.dli_sname, (unsigned long)offset);
  } else {
    const char *module = strrchr(info.dli_fname, '/');
    snprintf(buf, size, "%s(+0x%lx)", module ? module + 1 : info.dli_fname,
             (unsigned long)((uintptr_t)fn - (uintptr_t)info.dli_fbase));
  }
  return buf;
}
