/* Example 4, "broken promises": an import request checks 400,000 records,
 * each through promises resolved at once. All their handlers run in the drain
 * of the one callback that made them, so the event loop is blocked for the
 * whole import: the blocking detector names that callback. The fix does the
 * same work in chunks of 1000 records, yielding to the loop between chunks. */
#include <clockwork/cmocka.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

/* The threshold: far above a chunk (under 1 ms of CPU) plus what a loaded
 * machine steals from the process (up to 25 ms seen with 8 runnable
 * processes per CPU), well below the whole import (some 200 ms of CPU). */
enum { RECORDS = 400000, CHUNK = 1000, BLOCKING_MS = 50 };

/* ---- the program ------------------------------------------------------------------ */

typedef struct record {
  char line[48]; /* "id,currency,amount,time" as uploaded */
  long cents;    /* the amount, once parsed */
  time_t at;     /* the time, once parsed */
} record;

typedef struct import {
  cw_loop *loop;
  record *records;
  size_t n, next;
  long long total; /* of the valid amounts, in cents */
  size_t valid;
} import;

/* Counts a valid record: an amount in euros, not negative, and a time. */
static cw_result import_record(void *arg, cw_result in) {
  import *im = arg;
  record *r = in.value;
  char id[8], currency[4];
  long euros;
  int cents;
  struct tm tm = {0};
  int fields = sscanf(r->line, "%7[0-9],%3[A-Z],%ld.%2d,%4d-%2d-%2dT%2d:%2d:%2dZ", id, currency, &euros, &cents,
                      &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec);
  if (fields != 10 || strcmp(currency, "EUR") != 0 || euros < 0)
    return cw_ok(NULL); /* skipped */
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  r->cents = euros * 100 + cents;
  r->at = timegm(&tm);
  im->total += r->cents;
  im->valid++;
  return cw_ok(NULL);
}

/* Record i through a promise resolved synchronously. */
static void check_record(import *im, size_t i) {
  cw_detach(cw_then(cw_resolved(im->loop, &im->records[i]), import_record, NULL, im));
}

/* The bad version: one callback makes every promise, and nothing else runs
 * until all of their handlers have. (Global, like the callbacks below, so
 * that the detector can name it.) */
void import_all_at_once(void *arg);
void import_all_at_once(void *arg) {
  import *im = arg;
  for (size_t i = 0; i < im->n; i++)
    check_record(im, i);
}

/* The fix: a chunk per macrotask; cw_set_immediate lets the loop turn
 * (timers, I/O) before the next one. */
void import_in_chunks(void *arg);
void import_in_chunks(void *arg) {
  import *im = arg;
  size_t end = im->next + CHUNK < im->n ? im->next + CHUNK : im->n;
  for (; im->next < end; im->next++)
    check_record(im, im->next);
  if (im->next < im->n)
    cw_set_immediate(im->loop, import_in_chunks, im);
}

/* ---- the tests ---------------------------------------------------------------------- */

static record records[RECORDS];
static import im;
static int request_line; /* where the import request's timer is set */

/* The upload: every 100th amount is negative. */
static void fill_records(void) {
  for (size_t i = 0; i < RECORDS; i++)
    snprintf(records[i].line, sizeof records[i].line, "%06zu,EUR,%d.%02d,2026-01-%02dT10:00:00Z", i,
             i % 100 == 0 ? -1 : (int)(i % 1000) / 100, (int)(i % 100), 1 + (int)(i % 28));
}

/* The import request arrives 10 ms into the run and starts version. */
static void start_import(cw_harness *h, cw_fn version) {
  im = (import){.loop = cw_harness_loop(h), .records = records, .n = RECORDS};
  request_line = __LINE__ + 1;
  cw_set_timeout(im.loop, 10, version, &im);
}

/* Every version finds the same records valid. */
static void assert_imported(void) {
  assert_int_equal(im.valid, RECORDS - RECORDS / 100);
  assert_int_equal(im.total, RECORDS / 1000 * 495000); /* per 1000: 0..999 less the multiples of 100 */
}

/* The longest macrotask, through the core's hook (the detector is off here). */
static struct {
  double longest_ms;
  size_t count;
} seen;

static void measure(void *arg, const cw_macrotask_info *m) {
  (void)arg;
  double ms = (double)(m->end_ns - m->start_ns) / 1e6;
  if (ms > seen.longest_ms)
    seen.longest_ms = ms;
  seen.count++;
}

static void measure_version(cw_fn version, const char *name, size_t macrotasks) {
  cw_harness *h = cw_harness_new(NULL);
  seen.longest_ms = 0;
  seen.count = 0;
  cw_on_macrotask(cw_harness_loop(h), measure, NULL);
  start_import(h, version);
  assert_int_equal(cw_harness_run(h, NULL, NULL), 0);
  assert_imported();
  print_message("%-18s %zu macrotasks, the longest %.2f ms\n", name, seen.count, seen.longest_ms);
  assert_int_equal(seen.count, macrotasks);
  cw_harness_free(h);
}

/* Figures for the reader; the verdicts are the tests below. */
static void figures(void **state) {
  (void)state;
  measure_version(import_all_at_once, "all at once:", 2);                /* main, the request */
  measure_version(import_in_chunks, "in chunks:", 1 + RECORDS / CHUNK); /* and the immediates */
}

static char failure[4096];
static unsigned failures;

static void keep_failure(void *arg, const char *message) {
  (void)arg;
  failures++;
  snprintf(failure, sizeof failure, "%s", message);
}

static void the_detector_catches_the_blocking_import(void **state) {
  (void)state;
  failures = 0;
  cw_harness *h = cw_harness_new(&(cw_harness_opts){.blocking_ms = BLOCKING_MS, .fail = keep_failure});
  start_import(h, import_all_at_once);
  assert_int_equal(cw_harness_run(h, NULL, NULL), 0);
  cw_harness_free(h);
  assert_imported();
  assert_int_equal(failures, 1);
  /* "<file>:<line>: event loop blocked for 312.5 ms by import_all_at_once (...)" */
  char where[256], rest[256];
  double ms;
  snprintf(where, sizeof where, "%s:%d: event loop blocked for ", __FILE__, request_line);
  assert_memory_equal(failure, where, strlen(where));
  assert_int_equal(sscanf(failure + strlen(where), "%lf ms by %255[^\n]", &ms, rest), 2);
  assert_string_equal(rest, "import_all_at_once (a timer callback, phase timers) — threshold 50.0 ms");
  assert_true(ms > BLOCKING_MS);
}

static void the_chunked_import_passes(void **state) {
  start_import(cw_test_harness(state), import_in_chunks);
  assert_int_equal(cw_harness_run(cw_test_harness(state), NULL, NULL), 0);
  assert_imported();
}

int main(void) {
  fill_records();
  static const cw_harness_opts detector = {.blocking_ms = BLOCKING_MS};
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(figures),
      cmocka_unit_test(the_detector_catches_the_blocking_import),
      cw_test_opts(the_chunked_import_passes, &detector),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
