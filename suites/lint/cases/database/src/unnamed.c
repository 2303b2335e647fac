/* In the databases of named.c and all.c: linted only when no file is named. */
#include <clockwork/core.h>

cw_promise *make(cw_loop *loop);

void start_twice(cw_loop *loop) {
  make(loop);
  make(loop);
}
