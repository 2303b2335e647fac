/* cwlint -p BUILD_DIR with no file named: every C file of the database,
 * each with its own flags (FROM_DATABASE for this one only); the assembly
 * file is left out, and a file compiled twice is linted once. */
#include <clockwork/core.h>

cw_promise *make(cw_loop *loop);

void start(cw_loop *loop) {
#ifdef FROM_DATABASE
  make(loop);
#endif
}
