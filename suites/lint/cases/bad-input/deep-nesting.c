/* An expression nested 100000 levels deep (clang parses it): the function
 * holding it is reported as not linted, with exit status 2, instead of
 * overflowing the stack; the rest of the file is linted. */
#include <clockwork/concurrency.h>

#define ONES10 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1
#define ONES100 ONES10 + ONES10 + ONES10 + ONES10 + ONES10 + ONES10 + ONES10 + ONES10 + ONES10 + ONES10
#define ONES1K ONES100 + ONES100 + ONES100 + ONES100 + ONES100 + ONES100 + ONES100 + ONES100 + ONES100 + ONES100
#define ONES10K ONES1K + ONES1K + ONES1K + ONES1K + ONES1K + ONES1K + ONES1K + ONES1K + ONES1K + ONES1K
#define ONES100K ONES10K + ONES10K + ONES10K + ONES10K + ONES10K + ONES10K + ONES10K + ONES10K + ONES10K + ONES10K

long deep(cw_loop *loop) {
  cw_sleep(loop, 1);
  return ONES100K;
}

void shallow(cw_loop *loop) {
  cw_sleep(loop, 2);
}
