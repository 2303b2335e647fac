/* The queue of timer lists: by expiry, then in the order they were queued
 * (Node's list ids, which it hands out as it queues a list).
 *
 * Most entries sit in a hierarchical bucket queue over the 64-bit expiry,
 * read as 6-bit digits. Every entry is at or above base, the least expiry
 * the queue has located, and lives at the level of the highest digit where
 * its expiry differs from base, in the bucket of its own digit there; so
 * a level-0 bucket holds a single expiry. When level 0 is empty, the lowest
 * bucket of the lowest level in use cascades: base becomes its least expiry
 * and its entries move down, in order. An entry moves at most once a level,
 * and each cascade reads and writes arrays in sequence, where the pop of a
 * heap is a chain of dependent cache misses down its levels. Equal expiries
 * always share a bucket, so they come out in the order they went in.
 *
 * base can pass the clock: finding the earliest list, to arm the timer for
 * it, locates it. An expiry below base then goes to a small 4-ary heap by
 * (expiry, push order), which comes first, all of it being below base. */
#include "core_internal.h"

#include <stdlib.h>
#include <string.h>

enum { DIGIT_BITS = QUEUE_DIGIT_BITS, BUCKETS = 1 << DIGIT_BITS, LEVELS = QUEUE_LEVELS };


struct list_bucket {
  list_entry *entries; /* [head, len) are queued */
  size_t head, len, cap;
  uint64_t min; /* the least expiry among them */
};

struct side_entry {
  list_entry e;
  uint64_t seq; /* ties: pushed first */
};

static size_t entries_bytes(size_t cap) { return cap * sizeof(list_entry); }

void queue_init(list_queue *q, blocks *from) {
  memset(q, 0, sizeof *q);
  q->blocks = from;
  q->buckets = xmalloc(LEVELS * BUCKETS * sizeof *q->buckets);
  memset(q->buckets, 0, LEVELS * BUCKETS * sizeof *q->buckets);
}

void queue_destroy(list_queue *q) {
  for (size_t i = 0; i < LEVELS * BUCKETS; i++)
    block_free(q->blocks, q->buckets[i].entries, entries_bytes(q->buckets[i].cap));
  free(q->buckets);
  free(q->side);
}

/* ---- the buckets ---------------------------------------------------------- */

/* A bucket's array grows on huge pages once large (memory.c): faults on
 * fresh small pages cost more than the entries' moves. */
__attribute__((noinline)) static void bucket_grow(list_queue *q, list_bucket *b) {
  size_t cap = b->cap ? 2 * b->cap : 4;
  list_entry *entries = block_alloc(q->blocks, entries_bytes(cap));
  if (b->len > b->head)
    memcpy(entries, b->entries + b->head, (b->len - b->head) * sizeof *entries);
  b->len -= b->head;
  b->head = 0;
  block_free(q->blocks, b->entries, entries_bytes(b->cap));
  b->entries = entries;
  b->cap = cap;
}

/* Appends e to its bucket (e.expiry >= q->base); its level. */
static inline unsigned place(list_queue *q, list_entry e) {
  unsigned level = (unsigned)(63 - __builtin_clzll((q->base ^ e.expiry) | 1)) / DIGIT_BITS;
  unsigned digit = (unsigned)(e.expiry >> (level * DIGIT_BITS)) & (BUCKETS - 1);
  list_bucket *b = &q->buckets[level * BUCKETS + digit];
  if (b->len == b->cap)
    bucket_grow(q, b);
  if (b->len == b->head || e.expiry < b->min)
    b->min = e.expiry;
  q->occupied[level] |= (uint64_t)1 << digit;
  q->levels |= 1u << level;
  b->entries[b->len++] = e;
  return level;
}

static void empty_bucket(list_queue *q, unsigned level, unsigned digit) {
  list_bucket *b = &q->buckets[level * BUCKETS + digit];
  b->head = b->len = 0;
  q->occupied[level] &= ~((uint64_t)1 << digit);
  if (!q->occupied[level])
    q->levels &= ~(1u << level);
}

/* Level 0 being empty, moves the earliest bucket down: its least expiry
 * becomes base, and lands in level 0. The lists that do will run within 64
 * ms of it: they start loading. */
__attribute__((noinline)) /* keeps queue_top's usual path free of its registers */
static void cascade(list_queue *q) {
  unsigned level = (unsigned)__builtin_ctz(q->levels);
  unsigned digit = (unsigned)__builtin_ctzll(q->occupied[level]);
  list_bucket *b = &q->buckets[level * BUCKETS + digit];
  size_t head = b->head, len = b->len;
  q->base = b->min;
  empty_bucket(q, level, digit); /* none of its entries returns to it: all are lower from the new base */
  for (size_t i = head; i < len; i++)
    if (place(q, b->entries[i]) == 0)
      __builtin_prefetch(b->entries[i].list);
  if (entries_bytes(b->cap) >= BLOCK) { /* a burst's: its memory serves the levels below */
    block_free(q->blocks, b->entries, entries_bytes(b->cap));
    b->entries = NULL;
    b->cap = 0;
  }
}

/* ---- the side heap: expiries below base ----------------------------------------- */

static bool side_earlier(const side_entry *a, const side_entry *b) {
  return a->e.expiry != b->e.expiry ? a->e.expiry < b->e.expiry : a->seq < b->seq;
}

static void side_sift_up(side_entry *heap, size_t i) {
  side_entry e = heap[i];
  while (i > 0 && side_earlier(&e, &heap[(i - 1) / 4])) {
    heap[i] = heap[(i - 1) / 4];
    i = (i - 1) / 4;
  }
  heap[i] = e;
}

static void side_sift_down(side_entry *heap, size_t len, size_t i) {
  side_entry e = heap[i];
  while (4 * i + 1 < len) {
    size_t first = 4 * i + 1, best = first, end = len - first > 4 ? first + 4 : len;
    for (size_t c = first + 1; c < end; c++)
      best = side_earlier(&heap[c], &heap[best]) ? c : best;
    if (!side_earlier(&heap[best], &e))
      break;
    heap[i] = heap[best];
    i = best;
  }
  heap[i] = e;
}

__attribute__((noinline)) static void side_push(list_queue *q, list_entry e) {
  grow_array((void **)&q->side, &q->side_cap, q->side_len + 1, sizeof *q->side);
  q->side[q->side_len] = (side_entry){e, q->seq++};
  side_sift_up(q->side, q->side_len++);
}

/* ---- the queue ------------------------------------------------------------ */

void queue_push(list_queue *q, uint64_t expiry, timer_list *list, uint64_t now) {
  list_entry e = {expiry, list};
  if (q->len++ == 0)
    q->base = now; /* the closer base is to the expiries, the fewer levels they cascade through */
  if (expiry >= q->base)
    place(q, e);
  else
    side_push(q, e);
}

list_entry *queue_top(list_queue *q) {
  if (q->side_len)
    return &q->side[0].e;
  if (!q->levels)
    return NULL;
  while (!q->occupied[0]) /* once: base becomes the least expiry, which lands in level 0 */
    cascade(q);
  list_bucket *b = &q->buckets[__builtin_ctzll(q->occupied[0])];
  return &b->entries[b->head];
}

const list_entry *queue_after_top(const list_queue *q) {
  uint64_t occupied = q->occupied[0];
  if (q->side_len || !occupied)
    return NULL;
  const list_bucket *b = &q->buckets[__builtin_ctzll(occupied)];
  if (b->head + 1 < b->len)
    return &b->entries[b->head + 1];
  occupied &= occupied - 1; /* the next bucket of level 0 */
  if (!occupied)
    return NULL;
  b = &q->buckets[__builtin_ctzll(occupied)];
  return &b->entries[b->head];
}

void queue_pop(list_queue *q) {
  q->len--;
  if (q->side_len) {
    q->side[0] = q->side[--q->side_len];
    if (q->side_len)
      side_sift_down(q->side, q->side_len, 0);
    return;
  }
  unsigned digit = (unsigned)__builtin_ctzll(q->occupied[0]);
  list_bucket *b = &q->buckets[digit];
  if (++b->head == b->len)
    empty_bucket(q, 0, digit);
}

/* Keeps the entries whose list keep() accepts, in their order. */
void queue_sweep(list_queue *q, bool (*keep)(timer_list *list, void *arg), void *arg) {
  size_t n = 0;
  for (size_t i = 0; i < q->side_len; i++)
    if (keep(q->side[i].e.list, arg))
      q->side[n++] = q->side[i];
  q->side_len = n;
  for (size_t i = (n + 2) / 4; i-- > 0;) /* the parents, last first (Floyd's) */
    side_sift_down(q->side, n, i);
  q->len = n;
  for (unsigned level = 0; level < LEVELS; level++)
    for (uint64_t left = q->occupied[level]; left; left &= left - 1) {
      unsigned digit = (unsigned)__builtin_ctzll(left);
      list_bucket *b = &q->buckets[level * BUCKETS + digit];
      size_t kept = 0;
      uint64_t min = UINT64_MAX;
      for (size_t i = b->head; i < b->len; i++)
        if (keep(b->entries[i].list, arg)) {
          min = b->entries[i].expiry < min ? b->entries[i].expiry : min;
          b->entries[kept++] = b->entries[i];
        }
      if (kept) {
        b->head = 0;
        b->len = kept;
        b->min = min;
        q->len += kept;
      } else {
        empty_bucket(q, level, digit);
      }
    }
}

void queue_each(list_queue *q, void (*fn)(const list_entry *e, void *arg), void *arg) {
  for (size_t i = 0; i < q->side_len; i++)
    fn(&q->side[i].e, arg);
  for (unsigned level = 0; level < LEVELS; level++)
    for (uint64_t left = q->occupied[level]; left; left &= left - 1) {
      list_bucket *b = &q->buckets[level * BUCKETS + (unsigned)__builtin_ctzll(left)];
      for (size_t i = b->head; i < b->len; i++)
        fn(&b->entries[i], arg);
    }
}
