/* A dropped promise at the end of a comma chain 5000 levels deep: found
 * (the walks over the tree are iterative, and the stack holds the rest). */
#include <clockwork/concurrency.h>

#define ONES10 1, 1, 1, 1, 1, 1, 1, 1, 1, 1
#define ONES100 ONES10, ONES10, ONES10, ONES10, ONES10, ONES10, ONES10, ONES10, ONES10, ONES10
#define ONES1K ONES100, ONES100, ONES100, ONES100, ONES100, ONES100, ONES100, ONES100, ONES100, ONES100
#define ONES5K ONES1K, ONES1K, ONES1K, ONES1K, ONES1K

void chained(cw_loop *loop) {
  (ONES5K, cw_sleep(loop, 1));
}
