/* Shared by the I/O ports (io.c) and the real backend (io_real.c). */
#ifndef CLOCKWORK_IO_INTERNAL_H
#define CLOCKWORK_IO_INTERNAL_H

#include "clockwork/io.h"
#include "core_internal.h"

#include <string.h>

/* The backend on libuv: every loop starts with it. */
extern const cw_io_backend io_real_backend;

static inline char *xstrdup(const char *s) {
  size_t n = strlen(s) + 1;
  return memcpy(xmalloc(n), s, n);
}

#endif
