/* The *_at spelling, and an await inside a macro of the user's: the
 * finding is where cw_await or cw_await_at is written. */
#include <clockwork/core.h>

#define VALUE_OF(r) ((r).value)

struct store {
  cw_loop *loop;
  const char **keys;
  size_t n;
  void **values;
};

cw_promise *get_key(cw_loop *loop, const char *key);

cw_result load_at(void *arg) {
  struct store *s = arg;
  for (size_t i = 0; i < s->n; i++)
    s->values[i] = cw_await_at(get_key(s->loop, s->keys[i]), __FILE__, __LINE__).value;
  return cw_ok(NULL);
}

cw_result load_in_macro(void *arg) {
  struct store *s = arg;
  for (size_t i = 0; i < s->n; i++)
    s->values[i] = VALUE_OF(cw_await(get_key(s->loop, s->keys[i])));
  return cw_ok(NULL);
}
