/* Several files on several threads: output in the order the files were named. */
#include <clockwork/core.h>
void third(cw_loop *loop) {
  cw_resolved(loop, NULL);
}
