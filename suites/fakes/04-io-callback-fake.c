/* Twin of node/04-io-callback.js on the fake file system, under a harness:
 * fs.readFile(__filename) becomes cw_fs_read_file of a file put on the
 * fake disk first. Its completion is a poll-phase macrotask, like Node's,
 * so the immediate still runs before the timeout.
 *
 * Node calls readFile's callback as the body of that macrotask; a promise
 * calls its handler as a job of the drain after it. The handler hands the
 * callback's body to a nextTick: both queues are empty then, so the body
 * runs next and what it queues runs as after a macrotask's body (ticks,
 * then jobs), printing Node's lines. */
#include "twin.h"

#include <clockwork/fakes.h>
#include <clockwork/harness.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SCRIPT "/app/04-io-callback.js"

/* process.nextTick(() => { console.log('tick2'); Promise.resolve().then(() => console.log('then-in-tick')) }) */
static void tick2(void *arg) {
  (void)arg;
  say("tick2");
  cw_detach(cw_then(cw_resolved(loop, NULL), then_say, NULL, "then-in-tick"));
}

/* .then(() => { console.log('then2'); process.nextTick(() => console.log('tick-in-then')) }) */
static cw_result then2(void *arg, cw_result in) {
  (void)arg, (void)in;
  say("then2");
  cw_next_tick(loop, say, "tick-in-then");
  return cw_ok(NULL);
}

/* The body of the callback of fs.readFile(__filename, () => { ... }), line for line. */
static void callback(void *arg) {
  (void)arg;
  cw_set_timeout(loop, 0, say, "timeout");
  cw_set_immediate(loop, say, "immediate");
  cw_next_tick(loop, say, "tick");
  cw_detach(cw_then(cw_resolved(loop, NULL), then_say, NULL, "then"));
  cw_queue_microtask(loop, say, "micro");
  cw_next_tick(loop, tick2, NULL);
  cw_detach(cw_then(cw_resolved(loop, NULL), then2, NULL, NULL));
}

/* Like the JavaScript it ignores the outcome; the data is ours to free. */
static cw_result on_read(void *arg, cw_result in) {
  (void)arg;
  free(in.value);
  cw_next_tick(loop, callback, NULL);
  return cw_ok(NULL);
}

static char *data;
static size_t len;

/* fs.readFile(__filename, callback) */
static void script(void *arg) {
  (void)arg;
  cw_detach(cw_then(cw_fs_read_file(loop, SCRIPT, &data, &len), on_read, on_read, NULL));
}

static unsigned failures;

static void report(void *arg, const char *message) {
  (void)arg;
  fprintf(stderr, "%s\n", message);
  failures++;
}

int main(void) {
  cw_harness *h = cw_harness_new(&(cw_harness_opts){.fail = report});
  if (!h)
    return 1;
  loop = cw_harness_loop(h);
  const char *source = "const fs = require('fs')\n";
  int rc = cw_fake_fs_put(h, SCRIPT, source, strlen(source));
  if (rc == 0 && (rc = cw_harness_run(h, script, NULL)) != 0)
    fprintf(stderr, "cw_harness_run returned %s: %s\n", cw_err_name(rc), cw_strerror(rc));
  cw_harness_free(h);
  return rc != 0 || failures != 0;
}
