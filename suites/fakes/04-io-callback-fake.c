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
#include <clockwork/fakes.h>
#include <stdlib.h>
#include <string.h>

#include "io_callback_body.h"
#include "twin_harness.h"

#define SCRIPT "/app/04-io-callback.js"

/* Like the JavaScript it ignores the outcome; the data is ours to free. */
static cw_result on_read(void *arg, cw_result in) {
  (void)arg;
  free(in.value);
  cw_next_tick(loop, io_callback_body, NULL);
  return cw_ok(NULL);
}

static char *data;
static size_t len;

/* fs.readFile(__filename, callback) */
static void script(void *arg) {
  (void)arg;
  cw_detach(cw_then(cw_fs_read_file(loop, SCRIPT, &data, &len), on_read, on_read, NULL));
}

/* The script's file on the fake disk. */
static int put_script(cw_harness *h) {
  const char *source = "const fs = require('fs')\n";
  return cw_fake_fs_put(h, SCRIPT, source, strlen(source));
}

int main(void) { return twin_harness_main(put_script, script); }
