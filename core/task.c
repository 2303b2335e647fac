/* Tasks: async functions on fibers. cw_spawn runs the function at once, up
 * to its first cw_await; cw_await attaches one reaction to the promise (one
 * job, as V8's await) and suspends the fiber until that job resumes it. */
#include "core_internal.h"

#include <stdio.h>

struct task {
  pool_obj hdr;
  cw_loop *loop;
  cw_task_fn fn;
  void *arg;
  cw_fiber *fiber;
  cw_promise *promise; /* a core reference, settled when fn returns */
  const cw_promise *settled; /* what the await that resumed it gives back */
  task *prev, *next;   /* the loop's live tasks */
  const char *file;    /* spawned at */
  int line;
  const char *await_file; /* suspended at, while awaiting */
  int await_line;
  bool in_job; /* resumed by its await's job, which is still on the stack below */
};

size_t task_size(void) { return sizeof(task); }

void *task_function(const task *t) { return (void *)t->fn; }

/* The task whose fiber is running on this thread. */
static _Thread_local task *current;

/* Settles the task's promise on its own stack, straight from what fn
 * returned: a copy of a result just stored a field at a time would wait for
 * the stores to land (wide loads do not forward from narrow stores). */
static void task_entry(void *arg) {
  task *t = arg;
  cw_result r = t->fn(t->arg);
  promise_resolve_result(t->promise, &r, t->file, t->line);
}

static void task_finish(task *t) {
  cw_loop *loop = t->loop;
  promise_unref(t->promise);
  cw_fiber_free(t->fiber);
  if (t->prev)
    t->prev->next = t->next;
  else
    loop->tasks_head = t->next;
  if (t->next)
    t->next->prev = t->prev;
  pool_free(&loop->tasks, t);
}

/* Runs t until it awaits or returns. */
static void task_resume(task *t) {
  task *resumer = current;
  current = t;
  t->await_file = NULL;
  cw_fiber_resume(t->fiber);
  current = resumer;
  if (cw_fiber_done(t->fiber))
    task_finish(t);
}

void task_prefetch(const task *t) { cw_fiber_prefetch(t->fiber); }

void task_resume_with(task *t, const cw_promise *settled) {
  t->settled = settled; /* alive until its job ends, after the await returns */
  t->in_job = true;
  task_resume(t);
}

cw_promise *cw_spawn_at(cw_loop *loop, cw_task_fn fn, void *arg, const char *file, int line) {
  if (!loop || !fn) {
    misuse(loop, "cw_spawn", file, line, "the %s is NULL", loop ? "function" : "loop");
    return NULL;
  }
  if (!loop->fibers_ready) {
    cw_fiber_pool_init(&loop->fibers, loop->stack_size);
    loop->fibers_ready = true;
  }
  cw_promise *p = promise_alloc(loop, file, line);
  p->flags |= P_CORE;
  task *t = pool_alloc(&loop->tasks);
  t->fiber = cw_fiber_new(&loop->fibers, task_entry, t);
  if (!t->fiber) {
    pool_free(&loop->tasks, t);
    promise_settle(p, CW_REJECTED, NULL, UV_ENOMEM, file, line);
    return promise_handle(p);
  }
  cw_fiber_report_as(t->fiber, (void (*)(void))fn); /* an overflow names fn, not task_entry */
  p->refs++;
  t->loop = loop;
  t->fn = fn;
  t->arg = arg;
  t->promise = p;
  t->file = file;
  t->line = line;
  t->await_file = NULL;
  t->await_line = 0;
  t->in_job = false;
  t->prev = NULL;
  t->next = loop->tasks_head;
  if (t->next)
    t->next->prev = t;
  loop->tasks_head = t;
  cw_promise *handle = promise_handle(p); /* before the task may settle p */
  task_resume(t);
  return handle;
}

cw_result cw_await_at(cw_promise *handle, const char *file, int line) {
  task *t = current;
  if (!t) {
    misuse(NULL, "cw_await", file, line, "not inside a task: only a function started by cw_spawn can await");
    cw_promise *p = promise_take(handle, "cw_await", file, line);
    if (p)
      promise_unref(p);
    return cw_err(CW_EMISUSE);
  }
  cw_promise *p = promise_take(handle, "cw_await", file, line);
  if (p && p->loop != t->loop) {
    misuse(t->loop, "cw_await", file, line, "the promise belongs to another loop");
    promise_unref(p);
    p = NULL;
  }
  if (!p)
    return cw_err(CW_EMISUSE);
  cw_loop *loop = t->loop;
  if (p->state != CW_PENDING && t->in_job && loop->phase == CW_PHASE_MICROTASK && loop->microtasks.count == 0) {
    /* The job that would resume t is the next one the drain runs anyway
     * (ticks wait for an empty microtask queue): resume at once, same order. */
    promise_mark_handled(p, file, line);
    cw_result r = promise_result(p);
    promise_unref(p);
    return r;
  }
  reaction *r = reaction_new(t->loop, R_AWAIT, NULL, file, line);
  r->u.await.task = t;
  promise_react(p, r, file, line);
  promise_unref(p);
  t->await_file = file;
  t->await_line = line;
  t->in_job = false;
  cw_fiber_yield();
  return promise_result(t->settled);
}

bool cw_in_task(void) { return current != NULL; }

int cw_loop_set_stack_size(cw_loop *loop, size_t bytes) {
  if (!loop) {
    misuse(NULL, "cw_loop_set_stack_size", NULL, 0, "the loop is NULL");
    return UV_EINVAL;
  }
  if (loop->fibers_ready && loop->fibers.live > 0)
    return UV_EBUSY;
  if (loop->fibers_ready) {
    cw_fiber_pool_destroy(&loop->fibers);
    loop->fibers_ready = false;
  }
  loop->stack_size = bytes;
  return 0;
}

size_t cw_loop_tasks(cw_loop *loop, cw_task_visit_fn fn, void *arg) {
  size_t n = 0;
  for (task *t = loop ? loop->tasks_head : NULL; t; t = t->next, n++)
    if (fn)
      fn(arg, t->file, t->line, t->await_file, t->await_line);
  return n;
}

/* A task never resumed again: reported as misuse, at the site that spawned it. */
static void report_suspended(void *arg, const char *file, int line, const char *await_file, int await_line) {
  misuse(arg, "cw_loop_free", file, line, "task spawned here still suspended at %s:%d",
         await_file ? await_file : "?", await_line);
}

void tasks_destroy(cw_loop *loop) {
  cw_loop_tasks(loop, report_suspended, loop);
  /* suspended fibers are abandoned where they stand: their stacks go back */
  for (task *t = loop->tasks_head; t; t = t->next)
    cw_fiber_free(t->fiber);
  loop->tasks_head = NULL;
  if (loop->fibers_ready)
    cw_fiber_pool_destroy(&loop->fibers);
}
