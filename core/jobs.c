/* FIFO ring buffers of callbacks: the nextTick and microtask queues. */
#include "core_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

void *xmalloc(size_t size) {
  void *p = malloc(size);
  if (!p) {
    fprintf(stderr, "clockwork: out of memory (%zu bytes)\n", size);
    abort();
  }
  return p;
}

/* Blocks on cache lines (pool objects then share none), and large ones on
 * transparent huge pages where the kernel offers them: first touches of a
 * fresh pool cost one fault per 2 MiB, not per 4 KiB. */
void *big_alloc(size_t size) {
  size_t align = size < BIG_ALLOC / 2 ? CACHE_LINE : BIG_ALLOC;
  size = (size + align - 1) / align * align;
  void *p = aligned_alloc(align, size);
  if (!p) {
    fprintf(stderr, "clockwork: out of memory (%zu bytes)\n", size);
    abort();
  }
#ifdef MADV_HUGEPAGE
  if (align == BIG_ALLOC)
    madvise(p, size, MADV_HUGEPAGE);
#endif
  return p;
}

void grow_array(void **arr, size_t *cap, size_t need, size_t elem) {
  if (need <= *cap)
    return;
  size_t n = *cap ? *cap : 16;
  while (n < need)
    n *= 2;
  void *p = realloc(*arr, n * elem);
  if (!p) {
    fprintf(stderr, "clockwork: out of memory (%zu bytes)\n", n * elem);
    abort();
  }
  *arr = p;
  *cap = n;
}

void job_queue_init(job_queue *q) { memset(q, 0, sizeof *q); }

void job_queue_destroy(job_queue *q) {
  free(q->ring);
  memset(q, 0, sizeof *q);
}

void job_queue_grow(job_queue *q) {
  size_t cap = q->cap ? q->cap * 2 : 1024;
  job *ring = big_alloc(cap * sizeof *ring);
  /* unroll the ring so that head is at 0 */
  for (size_t i = 0; i < q->count; i++)
    ring[i] = q->ring[(q->head + i) & (q->cap - 1)];
  free(q->ring);
  q->ring = ring;
  q->cap = cap;
  q->head = 0;
}
