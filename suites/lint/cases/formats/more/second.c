#include <clockwork/core.h>
cw_promise *make(void);
void second(void) {
  make();
}
