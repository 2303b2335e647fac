/* cwlint -p BUILD_DIR named.c: the flags are named.c's compile command's
 * (FROM_DATABASE is defined there, nowhere else); unnamed.c, also in the
 * database, is not linted. */
#include <clockwork/core.h>

cw_promise *make(cw_loop *loop);

void start(cw_loop *loop) {
#ifdef FROM_DATABASE
  make(loop);
#endif
}
