/* A retry loop inside a loop over items: the retries are sequential by
 * necessity, but the items still wait for each other, so the await is
 * reported for the outer loop (cw_map() over a retrying task fixes it). */
#include <clockwork/core.h>

struct items {
  cw_loop *loop;
  const int *ids;
  int n;
  void **values;
};

cw_promise *fetch_item(cw_loop *loop, int id);

cw_result fetch_items(void *arg) {
  struct items *it = arg;
  for (int i = 0; i < it->n; i++) {
    cw_result r;
    int tries = 0;
    do {
      r = cw_await(fetch_item(it->loop, it->ids[i]));
    } while (r.state == CW_REJECTED && ++tries < 3);
    it->values[i] = r.value;
  }
  return cw_ok(NULL);
}
