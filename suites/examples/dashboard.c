/* Example 2, a dashboard endpoint: the page needs the user, their orders
 * and recommendations, three independent reads. They run at once, each
 * under its own timeout, combined with cw_all_settled, so the answer comes
 * when the slowest read is done or has timed out; a read that fails or
 * times out gives its section's fallback and the endpoint still answers,
 * saying which sections are degraded. The tests pin the answer's time to
 * the millisecond on virtual time: all fast, one slow, one failing. */
#include <clockwork/cmocka.h>
#include <clockwork/concurrency.h>
#include <clockwork/fakes.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the program ------------------------------------------------------------------ */

enum { SECTIONS = 3, SECTION_TIMEOUT_MS = 100 };

typedef struct section {
  const char *name;
  const char *fallback; /* JSON shown when the read fails or is late */
  char path[64];
  char *data; /* what the read gave, when it fulfils, even late */
  size_t len;
} section;

typedef struct dashboard {
  cw_loop *loop;
  section sections[SECTIONS];
  char *response; /* the answer: a JSON object, malloc'ed */
} dashboard;

/* A request for user_id's dashboard; free it with dashboard_free once the
 * loop has run out of work: a read that timed out still completes later and
 * writes its section's data. */
static dashboard *dashboard_new(cw_loop *loop, int user_id) {
  static const struct {
    const char *name, *dir, *fallback;
  } kinds[SECTIONS] = {
      {"user", "users", "{\"id\":null}"},
      {"orders", "orders", "[]"},
      {"recommendations", "recommendations", "[]"},
  };
  dashboard *d = calloc(1, sizeof *d);
  if (!d)
    return NULL;
  d->loop = loop;
  for (size_t i = 0; i < SECTIONS; i++) {
    section *s = &d->sections[i];
    s->name = kinds[i].name;
    s->fallback = kinds[i].fallback;
    snprintf(s->path, sizeof s->path, "/svc/%s/%d.json", kinds[i].dir, user_id);
  }
  return d;
}

static void dashboard_free(dashboard *d) {
  for (size_t i = 0; i < SECTIONS; i++)
    free(d->sections[i].data);
  free(d->response);
  free(d);
}

/* {"user":...,"orders":...,"recommendations":...,"degraded":["orders: timed out"]} */
static char *compose(const dashboard *d, const cw_result *outcomes) {
  char *text = NULL;
  size_t size = 0;
  FILE *f = open_memstream(&text, &size);
  if (!f)
    return NULL;
  putc('{', f);
  for (size_t i = 0; i < SECTIONS; i++) {
    const section *s = &d->sections[i];
    bool ok = outcomes[i].state == CW_FULFILLED;
    fprintf(f, "\"%s\":%s,", s->name, ok ? s->data : s->fallback);
  }
  fputs("\"degraded\":[", f);
  const char *comma = "";
  for (size_t i = 0; i < SECTIONS; i++)
    if (outcomes[i].state == CW_REJECTED) {
      int error = outcomes[i].error;
      fprintf(f, "%s\"%s: %s\"", comma, d->sections[i].name, error == UV_ETIMEDOUT ? "timed out" : uv_err_name(error));
      comma = ",";
    }
  fputs("]}", f);
  return fclose(f) == 0 ? text : NULL;
}

static cw_result render(void *arg) {
  dashboard *d = arg;
  cw_promise *reads[SECTIONS];
  for (size_t i = 0; i < SECTIONS; i++) {
    section *s = &d->sections[i];
    reads[i] = cw_timeout(cw_fs_read_file(d->loop, s->path, &s->data, &s->len), SECTION_TIMEOUT_MS);
  }
  cw_result outcomes[SECTIONS];
  cw_await(cw_all_settled(d->loop, reads, SECTIONS, outcomes)); /* never rejects */
  d->response = compose(d, outcomes);
  return d->response ? cw_ok(d->response) : cw_err(UV_ENOMEM);
}

/* Renders d; fulfils with d->response. */
static cw_promise *dashboard_render(dashboard *d) { return cw_spawn(d->loop, render, d); }

/* ---- the tests -------------------------------------------------------------------- */

static const char user_json[] = "{\"id\":42,\"name\":\"Ada\"}";
static const char orders_json[] = "[{\"id\":7,\"total\":1250}]";
static const char recommendations_json[] = "[\"slide rule\",\"loom\"]";

/* The three services' data, each read taking the latency given (fs.open
 * of its file; the reads and the close that follow take no time). */
static void serve(cw_harness *h, const uint64_t latency_ms[SECTIONS]) {
  static const char *const dirs[SECTIONS] = {"users", "orders", "recommendations"};
  static const char *const data[SECTIONS] = {user_json, orders_json, recommendations_json};
  for (size_t i = 0; i < SECTIONS; i++) {
    char path[64];
    snprintf(path, sizeof path, "/svc/%s/42.json", dirs[i]);
    assert_int_equal(cw_fake_fs_put(h, path, data[i], strlen(data[i])), 0);
    if (latency_ms[i])
      assert_non_null(cw_fake_rule(h, &(cw_rule_spec){.op = "fs.open",
                                                      .match = path,
                                                      .latency = {CW_LATENCY_FIXED, (double)latency_ms[i], 0}}));
  }
}

typedef struct answer {
  bool given;
  uint64_t at_ms;
  char text[512];
} answer;

static cw_harness *h_of_answer;

static cw_result record(void *arg, cw_result in) {
  answer *a = arg;
  a->given = true;
  a->at_ms = cw_clock_now(h_of_answer);
  cw_trace(cw_harness_loop(h_of_answer), "answered"); /* shows in CW_TRACE's timeline */
  snprintf(a->text, sizeof a->text, "%s", (const char *)in.value);
  return cw_ok(NULL);
}

static dashboard *request;
static answer response;

static void handle_request(void *arg) {
  cw_harness *h = arg;
  request = dashboard_new(cw_harness_loop(h), 42);
  cw_detach(cw_then(dashboard_render(request), record, NULL, &response));
}

/* Serves the request on virtual time; the answer lands in response. */
static void run_request(cw_harness *h) {
  h_of_answer = h;
  memset(&response, 0, sizeof response);
  assert_int_equal(cw_harness_run(h, handle_request, h), 0);
  assert_true(response.given);
  dashboard_free(request);
}

#define FULL "{\"user\":{\"id\":42,\"name\":\"Ada\"},\"orders\":[{\"id\":7,\"total\":1250}]," \
             "\"recommendations\":[\"slide rule\",\"loom\"],"

/* All three within the timeout: the answer comes with the slowest, complete. */
static void all_fast_answer_at_the_slowest(void **state) {
  cw_harness *h = cw_test_harness(state);
  serve(h, (const uint64_t[]){20, 35, 99});
  run_request(h);
  assert_int_equal(response.at_ms, 99);
  assert_string_equal(response.text, FULL "\"degraded\":[]}");
}

/* The three reads overlap: the answer's time is their maximum, not their sum. */
static void reads_run_at_once(void **state) {
  cw_harness *h = cw_test_harness(state);
  serve(h, (const uint64_t[]){60, 60, 60});
  run_request(h);
  assert_int_equal(response.at_ms, 60);
}

/* Recommendations are slow: the answer comes at the timeout without them,
 * and their read still completes later (the run goes on until 250). */
static void one_slow_answer_at_the_timeout(void **state) {
  cw_harness *h = cw_test_harness(state);
  serve(h, (const uint64_t[]){20, 35, 250});
  run_request(h);
  assert_int_equal(response.at_ms, SECTION_TIMEOUT_MS);
  assert_int_equal(cw_clock_now(h), 250);
  assert_string_equal(response.text, "{\"user\":{\"id\":42,\"name\":\"Ada\"},\"orders\":[{\"id\":7,\"total\":1250}],"
                                     "\"recommendations\":[],\"degraded\":[\"recommendations: timed out\"]}");
}

/* Everything is slow: all three fallbacks, still at the timeout. */
static void all_slow_answer_at_the_timeout(void **state) {
  cw_harness *h = cw_test_harness(state);
  serve(h, (const uint64_t[]){500, 101, 1000});
  run_request(h);
  assert_int_equal(response.at_ms, SECTION_TIMEOUT_MS);
  assert_string_equal(response.text, "{\"user\":{\"id\":null},\"orders\":[],\"recommendations\":[],\"degraded\":"
                                     "[\"user: timed out\",\"orders: timed out\",\"recommendations: timed out\"]}");
}

/* The orders service fails at once: its section degrades without waiting
 * for the timeout; the answer comes with the slowest of the others. */
static void one_failing_degrades_at_once(void **state) {
  cw_harness *h = cw_test_harness(state);
  serve(h, (const uint64_t[]){20, 0, 45});
  assert_non_null(cw_fake_rule(h, &(cw_rule_spec){.op = "fs.open",
                                                  .match = "/svc/orders/*",
                                                  .fault = {CW_FAULT_ERROR, UV_EIO}}));
  run_request(h);
  assert_int_equal(response.at_ms, 45);
  assert_string_equal(response.text, "{\"user\":{\"id\":42,\"name\":\"Ada\"},\"orders\":[],"
                                     "\"recommendations\":[\"slide rule\",\"loom\"],\"degraded\":[\"orders: EIO\"]}");
}

/* A failure that takes its time counts when it comes, not at the timeout;
 * a missing file is a failure like another. */
static void failures_count_when_they_come(void **state) {
  cw_harness *h = cw_test_harness(state);
  serve(h, (const uint64_t[]){10, 0, 0});
  assert_non_null(cw_fake_rule(h, &(cw_rule_spec){.op = "fs.open",
                                                  .match = "/svc/recommendations/*",
                                                  .latency = {CW_LATENCY_FIXED, 30, 0},
                                                  .fault = {CW_FAULT_ERROR, UV_ECONNRESET}}));
  assert_non_null(cw_fake_rule(h, &(cw_rule_spec){.op = "fs.open",
                                                  .match = "/svc/orders/*",
                                                  .fault = {CW_FAULT_ERROR, UV_ENOENT}}));
  run_request(h);
  assert_int_equal(response.at_ms, 30);
  assert_string_equal(response.text, "{\"user\":{\"id\":42,\"name\":\"Ada\"},\"orders\":[],\"recommendations\":[],"
                                     "\"degraded\":[\"orders: ENOENT\",\"recommendations: ECONNRESET\"]}");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cw_test(all_fast_answer_at_the_slowest), cw_test(reads_run_at_once),
      cw_test(one_slow_answer_at_the_timeout), cw_test(all_slow_answer_at_the_timeout),
      cw_test(one_failing_degrades_at_once),   cw_test(failures_count_when_they_come),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
