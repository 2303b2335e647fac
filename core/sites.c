/* Call sites interned per loop: an object made at a file and line keeps a
 * 24-bit id of them rather than 12 bytes, which lets a timer fit in a cache
 * line. Sites are keyed by the file pointer (__FILE__ at the call) and the
 * line; a loop called from more than SITE_MAX of them records the rest as
 * site 0, unknown. */
#include "core_internal.h"

#include <stdlib.h>
#include <string.h>

enum { SITE_MAX = (1 << SITE_BITS) - 1 };

static size_t site_home(const char *file, int line, unsigned bits) {
  uint64_t k = ((uint64_t)(uintptr_t)file ^ (uint64_t)(unsigned)line << 32) * 0x9E3779B97F4A7C15u;
  return (size_t)(k >> (64 - bits));
}

static void index_alloc(site_table *t, unsigned bits) {
  t->index = xmalloc(((size_t)1 << bits) * sizeof *t->index);
  memset(t->index, 0, ((size_t)1 << bits) * sizeof *t->index);
  t->bits = bits;
}

void sites_init(site_table *t) {
  memset(t, 0, sizeof *t);
  grow_array((void **)&t->sites, &t->cap, 1, sizeof *t->sites);
  t->sites[0] = (site){NULL, 0};
  t->len = 1;
  index_alloc(t, 5);
}

void sites_destroy(site_table *t) {
  free(t->sites);
  free(t->index);
}

/* The index slot of (file, line), or the free one where it would go. */
static size_t index_find(const site_table *t, const char *file, int line) {
  size_t mask = ((size_t)1 << t->bits) - 1, i = site_home(file, line, t->bits);
  while (t->index[i] && (t->sites[t->index[i]].file != file || t->sites[t->index[i]].line != line))
    i = (i + 1) & mask;
  return i;
}

uint32_t site_lookup(site_table *t, const char *file, int line) {
  size_t i = index_find(t, file, line);
  if (!t->index[i]) {
    if (t->len > SITE_MAX)
      return 0;
    if (2 * t->len >= ((size_t)1 << t->bits)) { /* at most half full, counting site 0 */
      free(t->index);
      index_alloc(t, t->bits + 1);
      for (uint32_t id = 1; id < t->len; id++)
        t->index[index_find(t, t->sites[id].file, t->sites[id].line)] = id;
      i = index_find(t, file, line);
    }
    grow_array((void **)&t->sites, &t->cap, t->len + 1, sizeof *t->sites);
    t->sites[t->len] = (site){file, line};
    t->index[i] = (uint32_t)t->len++;
  }
  t->last_file = file;
  t->last_line = line;
  t->last = t->index[i];
  return t->last;
}
