/* No finding: exit 0 and no output. */
#include <clockwork/core.h>
void clean(cw_loop *loop) {
  cw_detach(cw_resolved(loop, NULL));
}
