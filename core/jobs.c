/* FIFO ring buffers of callbacks: the nextTick and microtask queues. */
#include "core_internal.h"

#include <string.h>

void job_queue_init(job_queue *q, blocks *from) {
  memset(q, 0, sizeof *q);
  q->blocks = from;
}

void job_queue_destroy(job_queue *q) {
  block_free(q->blocks, q->ring, q->cap * sizeof *q->ring);
  job_queue_init(q, q->blocks);
}

void job_queue_grow(job_queue *q) {
  size_t cap = q->cap ? q->cap * 2 : 1024;
  job *ring = block_alloc(q->blocks, cap * sizeof *ring);
  /* unroll the ring so that head is at 0 */
  for (size_t i = 0; i < q->count; i++)
    ring[i] = q->ring[(q->head + i) & (q->cap - 1)];
  block_free(q->blocks, q->ring, q->cap * sizeof *q->ring);
  q->ring = ring;
  q->cap = cap;
  q->head = 0;
}
