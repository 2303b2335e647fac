/* Sequential on purpose, for a reason cwlint cannot see: said so at the
 * second await, where the finding would be. */
#include <clockwork/core.h>

struct migration {
  cw_loop *loop;
};

cw_promise *lock_table(cw_loop *loop);
cw_promise *copy_rows(cw_loop *loop);

cw_result migrate(void *arg) {
  struct migration *m = arg;
  cw_await(lock_table(m->loop));
  // cwlint-ignore: sequential-awaits
  cw_await(copy_rows(m->loop));
  return cw_ok(NULL);
}
