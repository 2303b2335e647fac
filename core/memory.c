/* Memory: allocations that abort when there is none (the core has no way
 * to go on without its queues), and the blocks of a loop's pools, duration
 * map and queues.
 *
 * Memory touched for the first time costs a page fault and the zeroing of
 * the page, on a VM the host's too: for a timer's 150 bytes or so, more
 * than the work of setting and firing it. So a large block (BLOCK / 2 or
 * more) is mapped on BLOCK boundaries, on transparent huge pages, and once
 * freed stays with its loop, cut in blocks of BLOCK, for the loop's next
 * requests up to that size: the array a map or a bucket has outgrown becomes
 * the next pool chunks instead of going back to the kernel while fresh pages
 * come in. Small blocks come from malloc, on cache lines (pool objects then
 * share none). Spares go back to the kernel with the loop. */
#include "core_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

#ifndef __has_feature
#define __has_feature(x) 0
#endif
#if defined(__SANITIZE_ADDRESS__) || __has_feature(address_sanitizer)
#include <sanitizer/asan_interface.h>
#else /* a spare is not to be touched until handed out again */
#define ASAN_POISON_MEMORY_REGION(p, n) ((void)(p), (void)(n))
#define ASAN_UNPOISON_MEMORY_REGION(p, n) ((void)(p), (void)(n))
#endif

void out_of_memory(size_t size) {
  fprintf(stderr, "clockwork: out of memory (%zu bytes)\n", size);
  abort();
}

void *xmalloc(size_t size) {
  void *p = malloc(size);
  if (!p)
    out_of_memory(size);
  return p;
}

void grow_array(void **arr, size_t *cap, size_t need, size_t elem) {
  if (need <= *cap)
    return;
  size_t n = *cap ? *cap : 16;
  while (n < need)
    n *= 2;
  void *p = realloc(*arr, n * elem);
  if (!p)
    out_of_memory(n * elem);
  *arr = p;
  *cap = n;
}

static bool large(size_t size) { return size >= BLOCK / 2; }
static size_t rounded(size_t size, size_t unit) { return (size + unit - 1) / unit * unit; }

/* bytes (a multiple of BLOCK) on a BLOCK boundary: a mapping one block
 * longer, its ends cut off. */
static void *map_blocks(size_t bytes) {
  char *raw = mmap(NULL, bytes + BLOCK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED)
    out_of_memory(bytes);
  char *p = (char *)rounded((uintptr_t)raw, BLOCK);
  if (p > raw)
    munmap(raw, (size_t)(p - raw));
  munmap(p + bytes, (size_t)(raw + BLOCK - p));
#ifdef MADV_HUGEPAGE
  madvise(p, bytes, MADV_HUGEPAGE);
#endif
  return p;
}

void *block_alloc(blocks *b, size_t size) {
  if (!large(size)) {
    void *p = aligned_alloc(CACHE_LINE, rounded(size, CACHE_LINE));
    if (!p)
      out_of_memory(size);
    return p;
  }
  if (size <= BLOCK && b->spares_len) {
    void *p = b->spares[--b->spares_len];
    ASAN_UNPOISON_MEMORY_REGION(p, BLOCK);
    return p;
  }
  return map_blocks(rounded(size, BLOCK));
}

void block_free(blocks *b, void *p, size_t size) {
  if (!p)
    return;
  if (!large(size)) {
    free(p);
    return;
  }
  size_t bytes = rounded(size, BLOCK);
  grow_array((void **)&b->spares, &b->spares_cap, b->spares_len + bytes / BLOCK, sizeof *b->spares);
  for (size_t at = 0; at < bytes; at += BLOCK)
    b->spares[b->spares_len++] = (char *)p + at;
  ASAN_POISON_MEMORY_REGION(p, bytes);
}

void blocks_destroy(blocks *b) {
  for (size_t i = 0; i < b->spares_len; i++) {
    ASAN_UNPOISON_MEMORY_REGION(b->spares[i], BLOCK);
    munmap(b->spares[i], BLOCK);
  }
  free(b->spares);
  b->spares = NULL;
  b->spares_len = b->spares_cap = 0;
}
