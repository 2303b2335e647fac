/* An await in a for loop's initialiser runs once, before the loop: not in
 * the loop. Inside an outer loop it is in that one. */
#include <clockwork/core.h>

struct dirs {
  cw_loop *loop;
  const char **paths;
  size_t n;
  size_t entries;
};

cw_promise *open_dir(cw_loop *loop, const char *path);
void *next_entry(void *dir);

cw_result count_entries(void *arg) {
  struct dirs *d = arg;
  for (void *dir = cw_await(open_dir(d->loop, d->paths[0])).value; next_entry(dir) != NULL;)
    d->entries++;
  return cw_ok(NULL);
}

cw_result count_all_entries(void *arg) {
  struct dirs *d = arg;
  for (size_t i = 0; i < d->n; i++)
    for (void *dir = cw_await(open_dir(d->loop, d->paths[i])).value; next_entry(dir) != NULL;)
      d->entries++;
  return cw_ok(NULL);
}
