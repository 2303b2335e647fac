/* Awaits in a for loop's update. */
#include <clockwork/core.h>

struct node {
  struct node *next;
  int id;
};

struct walk {
  cw_loop *loop;
  struct node *first;
  size_t steps;
};

cw_promise *log_step(cw_loop *loop, size_t step);
cw_promise *next_node(cw_loop *loop, struct node *n);
void visit_node(struct node *n);

/* the update's await decides nothing: reported */
cw_result log_steps(void *arg) {
  struct walk *w = arg;
  for (size_t i = 0; i < w->steps; (void)cw_await(log_step(w->loop, i)), i++)
    visit_node(w->first);
  return cw_ok(NULL);
}

/* the update fetches the next node, which the condition tests: sequential */
cw_result follow(void *arg) {
  struct walk *w = arg;
  for (struct node *n = w->first; n != NULL; n = cw_await(next_node(w->loop, n)).value)
    visit_node(n);
  return cw_ok(NULL);
}
