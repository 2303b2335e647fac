/* Fixed-size object pools with generation-checked handles. */
#include "core_internal.h"

#include <stdlib.h>
#include <string.h>

/* Objects start on a cache line (block_alloc aligns chunks to one), so that
 * one of 64 bytes, a timer, is read in a single miss. */
struct pool_chunk {
  pool_chunk *next;
  size_t count;
  _Alignas(CACHE_LINE) unsigned char objects[]; /* count objects of pool->size bytes */
};

void pool_init(pool *p, size_t size, blocks *from) {
  /* size is that of the objects' type, a multiple of its alignment; the
   * header and the free link need a pointer's */
  size_t align = sizeof(void *);
  memset(p, 0, sizeof *p);
  if (size < 2 * sizeof(void *))
    size = 2 * sizeof(void *);
  p->size = (size + align - 1) / align * align;
  p->per_chunk = 64;
  p->blocks = from;
}

void pool_init_plain(pool *p, size_t size, blocks *from) {
  pool_init(p, size, from);
  p->plain = true;
}

static size_t chunk_bytes(const pool *p, size_t count) { return sizeof(pool_chunk) + count * p->size; }

void pool_destroy(pool *p) {
  pool_chunk *c = p->chunks;
  while (c) {
    pool_chunk *next = c->next;
    block_free(p->blocks, c, chunk_bytes(p, c->count));
    c = next;
  }
  p->chunks = NULL;
  p->free = NULL;
  p->live = 0;
}

static char *chunk_object(const pool *p, pool_chunk *c, size_t i) {
  return (char *)c->objects + i * p->size;
}

void pool_grow(pool *p) {
  size_t bytes = chunk_bytes(p, p->per_chunk);
  pool_chunk *c = block_alloc(p->blocks, bytes);
  c->count = p->per_chunk;
  c->next = p->chunks;
  p->chunks = c;
#if HAVE_TAGS
  if (((uintptr_t)chunk_object(p, c, c->count) >> TAG_SHIFT) != 0)
    p->untagged = true;
#endif
  for (size_t i = c->count; i-- > 0;) {
    pool_obj *o = (pool_obj *)chunk_object(p, c, i);
    if (!p->plain)
      o->gen = 0;
    *pool_link(o) = p->free;
    p->free = o;
  }
  if (bytes < BLOCK) /* grow geometrically up to huge-page chunks */
    p->per_chunk = (2 * bytes < BLOCK ? 2 * bytes : BLOCK - sizeof(pool_chunk)) / p->size;
}

void *pool_handle(const pool *p, void *obj) {
#if HAVE_TAGS
  if (!p->untagged)
    return (void *)((uintptr_t)obj | ((uintptr_t)pool_tag_of(((pool_obj *)obj)->gen) << TAG_SHIFT));
#else
  (void)p;
#endif
  return obj;
}

void pool_each(pool *p, void (*fn)(void *obj, void *arg), void *arg) {
  for (pool_chunk *c = p->chunks; c; c = c->next)
    for (size_t i = 0; i < c->count; i++) {
      pool_obj *o = (pool_obj *)chunk_object(p, c, i);
      if (pool_live(o))
        fn(o, arg);
    }
}
