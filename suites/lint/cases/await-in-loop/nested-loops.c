/* Loops in loops: each await is reported once, for its innermost loop. */
#include <clockwork/core.h>

struct grid {
  cw_loop *loop;
  int rows, cols;
  void **cells;
};

cw_promise *render_tile(cw_loop *loop, int row, int col);
cw_promise *flush_row(cw_loop *loop, int row);

cw_result render(void *arg) {
  struct grid *g = arg;
  for (int row = 0; row < g->rows; row++) {
    int col = 0;
    while (col < g->cols) {
      g->cells[row * g->cols + col] = cw_await(render_tile(g->loop, row, col)).value;
      col++;
    }
    cw_await(flush_row(g->loop, row));
  }
  return cw_ok(NULL);
}
