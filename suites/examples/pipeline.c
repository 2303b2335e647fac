/* Example 6, a pipeline with bounded concurrency and backpressure: items are
 * fetched (at most FETCHES at once), transformed (synchronously), and
 * uploaded (at most UPLOADS at once). Between transform and upload sits a
 * bounded queue: when uploads fall behind, the queue fills, a fetched item
 * waits for room while holding its fetch slot, and fetching slows to the
 * pace of the uploads instead of piling every item up in memory. The tests
 * check each stage's peak against its limit, the queue against its bound,
 * and the total virtual time against the arithmetic of the slowest stage. */
#include <clockwork/cmocka.h>
#include <clockwork/concurrency.h>
#include <clockwork/fakes.h>
#include <clockwork/probe.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- a bounded queue for tasks ------------------------------------------------------ */

/* A task waiting on the queue: for room to push its item, or for an item.
 * It lives on the waiting task's stack. */
typedef struct waiter {
  struct waiter *next;
  cw_promise *wake; /* resolved by the task that serves it */
  void *item;
} waiter;

typedef struct queue {
  cw_loop *loop;
  void **items; /* a ring of cap */
  size_t cap, head, len;
  size_t peak;  /* the most items it held at once */
  waiter *pushers, *poppers; /* FIFO lists */
} queue;

static void enqueue_waiter(waiter **list, waiter *w) {
  while (*list)
    list = &(*list)->next;
  *list = w;
}

static waiter *dequeue_waiter(waiter **list) {
  waiter *w = *list;
  *list = w->next;
  return w;
}

static void put(queue *q, void *item) {
  q->items[(q->head + q->len++) % q->cap] = item;
  q->peak = q->len > q->peak ? q->len : q->peak;
}

/* Suspends the calling task until w is served. */
static void wait_on(queue *q, waiter **list, waiter *w) {
  w->wake = cw_promise_new(q->loop);
  cw_promise *woken = cw_ref(w->wake);
  enqueue_waiter(list, w);
  cw_await(woken);
}

static void serve(waiter *w, void *item) {
  w->item = item;
  cw_resolve(w->wake, NULL);
}

/* In a task: hands item to a waiting pop, or stores it, or waits for room. */
static void queue_push(queue *q, void *item) {
  if (q->poppers) {
    serve(dequeue_waiter(&q->poppers), item);
  } else if (q->len < q->cap) {
    put(q, item);
  } else {
    waiter w = {.item = item};
    wait_on(q, &q->pushers, &w);
  }
}

/* In a task: the oldest item, waiting for one if need be; a push waiting
 * for room takes the place freed. */
static void *queue_pop(queue *q) {
  if (!q->len) {
    waiter w = {0};
    wait_on(q, &q->poppers, &w);
    return w.item;
  }
  void *item = q->items[q->head];
  q->head = (q->head + 1) % q->cap;
  q->len--;
  if (q->pushers) {
    waiter *w = dequeue_waiter(&q->pushers);
    put(q, w->item);
    serve(w, NULL);
  }
  return item;
}

/* ---- the pipeline ----------------------------------------------------------------------- */

typedef struct stage {
  cw_limiter *limiter;
  size_t active, peak; /* tasks inside the stage, waits on the queue included */
} stage;

typedef struct item {
  struct pipeline *pipeline;
  size_t index;
  char *data;
  size_t len;
} item;

typedef struct pipeline {
  cw_loop *loop;
  item *items;
  size_t n;
  queue queue;
  stage fetch, upload;
  size_t reading, reading_peak; /* fetch reads in flight */
  uint64_t started_ms;          /* loop time (uv_now) at the start */
  uint64_t last_fetch_ms;       /* when the last read completed, since the start */
} pipeline;

static void enter(stage *s) {
  s->active++;
  s->peak = s->active > s->peak ? s->active : s->peak;
}

/* The synchronous step: upper-case the record. */
static void transform(item *it) {
  for (size_t i = 0; i < it->len; i++)
    it->data[i] = (char)toupper((unsigned char)it->data[i]);
}

static cw_result fetch_task(void *arg) {
  item *it = arg;
  pipeline *p = it->pipeline;
  enter(&p->fetch);
  char path[32];
  snprintf(path, sizeof path, "/in/%zu", it->index);
  p->reading++;
  p->reading_peak = p->reading > p->reading_peak ? p->reading : p->reading_peak;
  cw_result read = cw_await(cw_fs_read_file(p->loop, path, &it->data, &it->len));
  p->reading--;
  p->last_fetch_ms = uv_now(cw_loop_uv(p->loop)) - p->started_ms;
  if (read.state == CW_FULFILLED) {
    transform(it);
    queue_push(&p->queue, it); /* backpressure: waits here while the queue is full */
  } else {
    queue_push(&p->queue, NULL); /* an upload still takes its turn, with nothing to send */
  }
  p->fetch.active--;
  return read.state == CW_FULFILLED ? cw_ok(NULL) : cw_err(read.error);
}

static cw_result upload_task(void *arg) {
  pipeline *p = arg;
  enter(&p->upload);
  item *it = queue_pop(&p->queue);
  cw_result sent = cw_ok(NULL);
  if (it) {
    char path[32];
    snprintf(path, sizeof path, "/out/%zu", it->index);
    sent = cw_await(cw_fs_write_file(p->loop, path, it->data, it->len));
    free(it->data);
    it->data = NULL;
  }
  p->upload.active--;
  return sent;
}

static cw_promise *start_fetch(void *arg) {
  item *it = arg;
  return cw_spawn(it->pipeline->loop, fetch_task, it);
}

static cw_promise *start_upload(void *arg) {
  pipeline *p = arg;
  return cw_spawn(p->loop, upload_task, p);
}

/* The whole pipeline's promise: every fetch and every upload settled. The
 * items go through in order; each stage runs through its limiter. */
static cw_promise *pipeline_run(pipeline *p, cw_result *results) {
  cw_promise **all = malloc(2 * p->n * sizeof *all);
  if (!all)
    return cw_rejected(p->loop, UV_ENOMEM);
  p->started_ms = uv_now(cw_loop_uv(p->loop));
  for (size_t i = 0; i < p->n; i++) {
    all[i] = cw_limit(p->fetch.limiter, start_fetch, &p->items[i]);
    all[p->n + i] = cw_limit(p->upload.limiter, start_upload, p);
  }
  cw_promise *done = cw_all_settled(p->loop, all, 2 * p->n, results);
  free(all);
  return done;
}

static void pipeline_free(pipeline *p) {
  for (size_t i = 0; p->items && i < p->n; i++)
    free(p->items[i].data);
  cw_limiter_free(p->fetch.limiter);
  cw_limiter_free(p->upload.limiter);
  free(p->queue.items);
  free(p->items);
  free(p);
}

static pipeline *pipeline_new(cw_loop *loop, size_t n, size_t fetches, size_t uploads, size_t queue_cap) {
  pipeline *p = calloc(1, sizeof *p);
  if (!p)
    return NULL;
  p->loop = loop;
  p->n = n;
  p->items = calloc(n, sizeof *p->items);
  p->queue = (queue){.loop = loop, .items = calloc(queue_cap, sizeof(void *)), .cap = queue_cap};
  p->fetch.limiter = cw_limiter_new(loop, fetches);
  p->upload.limiter = cw_limiter_new(loop, uploads);
  if (!p->items || !p->queue.items || !p->fetch.limiter || !p->upload.limiter) {
    pipeline_free(p);
    return NULL;
  }
  for (size_t i = 0; i < n; i++)
    p->items[i] = (item){p, i, NULL, 0};
  return p;
}

/* ---- the tests ------------------------------------------------------------------------------ */

enum { ITEMS = 100, FETCHES = 4, UPLOADS = 2, FETCH_MS = 10, UPLOAD_MS = 40, QUEUE = 4 };

static cw_harness *harness;
static pipeline *run;
static cw_result results[2 * ITEMS];
static uint64_t finished_ms;
static int finished_error;

static cw_result finished(void *arg, cw_result in) {
  (void)arg;
  (void)in; /* all_settled fulfils */
  finished_ms = cw_clock_now(harness);
  for (size_t i = 0; i < 2 * ITEMS; i++)
    if (results[i].state == CW_REJECTED && !finished_error)
      finished_error = results[i].error;
  return cw_ok(NULL);
}

static void start(void *arg) {
  (void)arg;
  cw_detach(cw_then(pipeline_run(run, results), finished, NULL, NULL));
}

/* ITEMS records in /in, fetches taking FETCH_MS and uploads upload_ms. */
static void setup_services(cw_harness *h, uint64_t upload_ms) {
  for (size_t i = 0; i < ITEMS; i++) {
    char path[32], text[32];
    snprintf(path, sizeof path, "/in/%zu", i);
    snprintf(text, sizeof text, "record %zu", i);
    assert_int_equal(cw_fake_fs_put(h, path, text, strlen(text)), 0);
  }
  assert_int_equal(cw_fake_fs_mkdir(h, "/out"), 0);
  assert_non_null(cw_fake_rule(h, &(cw_rule_spec){.op = "fs.open", .match = "/in/*",
                                                  .latency = {CW_LATENCY_FIXED, FETCH_MS, 0}}));
  assert_non_null(cw_fake_rule(h, &(cw_rule_spec){.op = "fs.write", .match = "/out/*",
                                                  .latency = {CW_LATENCY_FIXED, (double)upload_ms, 0}}));
}

static void run_pipeline(cw_harness *h, size_t queue_cap, uint64_t upload_ms) {
  harness = h;
  finished_ms = 0;
  finished_error = 0;
  setup_services(h, upload_ms);
  run = pipeline_new(cw_harness_loop(h), ITEMS, FETCHES, UPLOADS, queue_cap);
  assert_non_null(run);
  assert_int_equal(cw_harness_run(h, start, NULL), 0);
  assert_int_equal(finished_error, 0);
}

/* Every item arrives at /out, transformed, once. */
static void check_outputs(cw_harness *h) {
  for (size_t i = 0; i < ITEMS; i++) {
    char path[32], text[32];
    snprintf(path, sizeof path, "/out/%zu", i);
    snprintf(text, sizeof text, "RECORD %zu", i);
    const char *got = cw_fake_fs_get(h, path, NULL);
    assert_non_null(got);
    assert_string_equal(got, text);
  }
}

/* Upload-bound: 100 items × 40 ms / 2 at once = 2000 ms, after the 10 ms
 * of the first fetch (the pipeline's fill); every stage at its limit,
 * never above, and the queue full at its bound. */
static void upload_bound_with_backpressure(void **state) {
  cw_harness *h = cw_test_harness(state);
  cw_probe *uploads = cw_probe_begin(h, "fs.write");
  run_pipeline(h, QUEUE, UPLOAD_MS);
  cw_probe_end(uploads);
  check_outputs(h);

  assert_int_equal(finished_ms, FETCH_MS + ITEMS * UPLOAD_MS / UPLOADS);
  assert_int_equal(run->fetch.peak, FETCHES);
  assert_int_equal(run->reading_peak, FETCHES);
  assert_int_equal(run->upload.peak, UPLOADS);
  assert_int_equal(run->queue.peak, QUEUE);

  cw_probe_figures f = cw_probe_figures_of(uploads);
  assert_int_equal(f.ops, ITEMS);
  assert_int_equal(f.peak_in_flight, UPLOADS);
  assert_true(f.latency_ms == ITEMS * UPLOAD_MS);
  assert_true(cw_probe_assert_parallel(uploads, 1.95));
  cw_probe_free(uploads);

  /* backpressure: fetching kept pace with the uploads. A fetch slot frees
   * only when an upload round takes items from the queue, so the last two
   * fetches started (QUEUE + FETCHES) / UPLOADS rounds before the last
   * round of uploads, where their items went. */
  uint64_t last_round_ms = finished_ms - UPLOAD_MS;
  assert_int_equal(run->last_fetch_ms, last_round_ms - (QUEUE + FETCHES) / UPLOADS * UPLOAD_MS + FETCH_MS);
  pipeline_free(run);
}

/* Without the bound (a queue as long as the input) fetching runs ahead:
 * done after 100 / 4 × 10 ms, everything piled up in the queue. Same total. */
static void unbounded_queue_piles_up(void **state) {
  cw_harness *h = cw_test_harness(state);
  run_pipeline(h, ITEMS, UPLOAD_MS);
  check_outputs(h);
  assert_int_equal(finished_ms, FETCH_MS + ITEMS * UPLOAD_MS / UPLOADS);
  assert_int_equal(run->last_fetch_ms, ITEMS / FETCHES * FETCH_MS);
  assert_true(run->queue.peak > ITEMS / 2);
  pipeline_free(run);
}

/* Uploads of 1 ms: the pipeline becomes fetch-bound (100 / 4 × 10 ms, then
 * the last round's two pairs of uploads): of each round of 4 fetched items
 * 2 go straight to the waiting uploads, 2 wait in the queue. */
static void fetch_bound_when_uploads_are_fast(void **state) {
  cw_harness *h = cw_test_harness(state);
  run_pipeline(h, QUEUE, 1);
  check_outputs(h);
  assert_int_equal(finished_ms, ITEMS / FETCHES * FETCH_MS + FETCHES / UPLOADS * 1);
  assert_int_equal(run->last_fetch_ms, ITEMS / FETCHES * FETCH_MS);
  assert_int_equal(run->queue.peak, FETCHES - UPLOADS);
  assert_int_equal(run->upload.peak, UPLOADS);
  pipeline_free(run);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cw_test(upload_bound_with_backpressure),
      cw_test(unbounded_queue_piles_up),
      cw_test(fetch_bound_when_uploads_are_fast),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
