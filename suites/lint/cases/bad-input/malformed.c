/* Not C: a message naming the file and line, exit 2, no crash. */
#include <clockwork/core.h>
void broken(cw_loop *loop) {
  cw_resolved(loop, NULL)
  int = ;
}
struct {
