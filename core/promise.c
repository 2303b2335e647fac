/* Promises with ECMA-262 job semantics: settling queues one job per
 * reaction, resolving with a promise costs the thenable job and a then. */
#include "core_internal.h"

#include <stdio.h>

static const char *state_name(cw_state s) {
  return s == CW_PENDING ? "pending" : s == CW_FULFILLED ? "fulfilled" : "rejected";
}

/* ---- lifetime ---------------------------------------------------------- */

static cw_promise *promise_new(cw_loop *loop, const char *file, int line) {
  cw_promise *p = pool_alloc(&loop->promises);
  p->loop = loop;
  p->state = CW_PENDING;
  p->flags = 0;
  p->user_refs = 0;
  p->refs = 0;
  p->value = NULL;
  p->error = 0;
  p->first = p->last = NULL;
  p->file = file;
  p->line = line;
  p->settled_file = NULL;
  p->settled_line = 0;
  return p;
}

cw_promise *promise_alloc(cw_loop *loop, const char *file, int line) {
  cw_promise *p = promise_new(loop, file, line);
  p->user_refs = 1;
  return p;
}

cw_promise *promise_internal(cw_loop *loop, const char *file, int line) {
  cw_promise *p = promise_new(loop, file, line);
  p->refs = 1;
  return p;
}

cw_promise *promise_handle(cw_promise *p) { return pool_handle(&p->loop->promises, p); }

reaction *reaction_new(cw_loop *loop, reaction_kind kind, cw_promise *target, const char *file, int line) {
  reaction *r = pool_alloc(&loop->reactions);
  r->next = NULL;
  r->source = NULL;
  r->target = target;
  if (target)
    target->refs++;
  r->kind = kind;
  r->file = file;
  r->line = line;
  return r;
}

static void reaction_free(cw_loop *loop, reaction *r) {
  if (r->source)
    promise_unref(r->source);
  if (r->target)
    promise_unref(r->target);
  if (r->kind == R_ELEMENT)
    combinator_unref(r->u.element.c);
  pool_free(&loop->reactions, r);
}

/* Freeing a promise drops its reactions, which may free the promises they
 * would have settled: a worklist instead of recursion, so that a long chain
 * of pending promises does not exhaust the stack. */
void promise_free(cw_promise *p) {
  cw_loop *loop = p->loop;
  if (!p->first && !loop->freeing) { /* the common case: nothing hangs on it */
    pool_free(&loop->promises, p);
    return;
  }
  grow_array((void **)&loop->doomed, &loop->doomed_cap, loop->doomed_len + 1, sizeof *loop->doomed);
  loop->doomed[loop->doomed_len++] = p;
  if (loop->freeing)
    return;
  loop->freeing = true;
  while (loop->doomed_len) {
    cw_promise *q = loop->doomed[--loop->doomed_len];
    reaction *r = q->first;
    while (r) {
      reaction *next = r->next;
      reaction_free(loop, r);
      r = next;
    }
    pool_free(&loop->promises, q);
  }
  loop->freeing = false;
}

/* Reports why handle cannot be used; NULL. */
cw_promise *promise_check_failed(const cw_promise *handle, const char *function, const char *file, int line) {
  cw_promise *p = handle ? pool_object(handle) : NULL;
  if (!handle)
    misuse(NULL, function, file, line, "the promise is NULL");
  else if (!p) /* its memory is the pool's now: read nothing from it */
    misuse(NULL, function, file, line,
           "stale promise handle: the promise was freed after all its references were consumed");
  else
    misuse(p->loop, function, file, line,
           "the promise created at %s:%d was already released: its references were all consumed", p->file,
           p->line);
  return NULL;
}

/* ---- settling ---------------------------------------------------------- */

static void run_reaction(void *arg);

void promise_settle(cw_promise *p, cw_state state, void *value, int error, const char *file, int line) {
  p->state = state;
  p->flags |= P_RESOLVED;
  if (state == CW_FULFILLED) {
    p->value = value;
  } else {
    p->error = error;
    p->settled_file = file;
    p->settled_line = line;
  }
  reaction *r = p->first;
  p->first = p->last = NULL;
  while (r) {
    reaction *next = r->next;
    r->next = NULL;
    r->source = p;
    p->refs++;
    enqueue_job(p->loop, run_reaction, r);
    r = next;
  }
  if (state == CW_REJECTED && !(p->flags & P_HANDLED))
    rejection_track(p);
}

void promise_settle_like(cw_promise *target, const cw_promise *source) {
  promise_settle(target, (cw_state)source->state, source->value, source->error, source->settled_file,
                 source->settled_line);
}

void promise_react(cw_promise *p, reaction *r, const char *file, int line) {
  if (p->state == CW_PENDING) {
    if (p->last)
      p->last->next = r;
    else
      p->first = r;
    p->last = r;
  } else {
    r->source = p;
    p->refs++;
    enqueue_job(p->loop, run_reaction, r);
  }
  promise_mark_handled(p, file, line);
}

void promise_mark_handled(cw_promise *p, const char *file, int line) {
  if (!(p->flags & P_HANDLED)) {
    p->flags |= P_HANDLED;
    if (p->state == CW_REJECTED)
      rejection_handled(p, file, line);
  }
}

/* NewPromiseResolveThenableJob: source.then(resolve target, reject target). */
static void thenable_job(void *arg) {
  reaction *r = arg;
  cw_promise *source = r->source;
  r->source = NULL;
  promise_react(source, r, r->file, r->line);
  promise_unref(source);
}

void promise_adopt(cw_promise *target, cw_promise *source, const char *file, int line) {
  target->flags |= P_RESOLVED;
  if (source == target) {
    misuse(target->loop, "cw_resolve_with", file, line, "the promise created at %s:%d was resolved with itself",
           target->file, target->line);
    promise_unref(source);
    promise_settle(target, CW_REJECTED, NULL, CW_ECYCLE, file, line);
    return;
  }
  reaction *r = reaction_new(target->loop, R_ADOPT, target, file, line);
  r->source = source;
  enqueue_job(target->loop, thenable_job, r);
}

void promise_resolve_result(cw_promise *target, const cw_result *res, const char *file, int line) {
  if (res->follow) {
    cw_promise *source = promise_take(res->follow, "cw_follow", file, line);
    if (source && source->loop != target->loop) {
      misuse(target->loop, "cw_follow", file, line, "the promise belongs to another loop");
      promise_unref(source);
      source = NULL;
    }
    if (source)
      promise_adopt(target, source, file, line);
    else
      promise_settle(target, CW_REJECTED, NULL, CW_EMISUSE, file, line);
  } else if (res->state == CW_FULFILLED) {
    promise_settle(target, CW_FULFILLED, res->value, 0, file, line);
  } else if (res->state == CW_REJECTED && res->error < 0) {
    promise_settle(target, CW_REJECTED, NULL, res->error, file, line);
  } else {
    misuse(target->loop, "cw_then", file, line,
           res->state == CW_REJECTED ? "a handler rejected with error %d: errors are negative codes"
                                     : "a handler returned neither cw_ok, cw_err nor cw_follow (state %d)",
           res->state == CW_REJECTED ? res->error : (int)res->state);
    promise_settle(target, CW_REJECTED, NULL, CW_EMISUSE, file, line);
  }
}

/* A settled promise often resumes many tasks in a row, each on a stack of
 * its own page: while one runs, start loading the stack of the one two jobs
 * ahead (the next one's would not arrive in time). */
static void prefetch_next_task(const cw_loop *loop) {
  const job_queue *q = &loop->microtasks;
  if (q->count < 2)
    return;
  const job *j = &q->ring[(q->head + 1) & (q->cap - 1)];
  if (j->fn != run_reaction)
    return;
  const reaction *next = j->arg;
  if (next->kind == R_AWAIT)
    task_prefetch(next->u.await.task);
}

static void run_reaction(void *arg) {
  reaction *r = arg;
  cw_promise *source = r->source;
  switch (r->kind) {
  case R_THEN: {
    cw_handler h = source->state == CW_FULFILLED ? r->u.then.on_ok : r->u.then.on_err;
    if (h) {
      cw_result res = h(r->u.then.arg, promise_result(source));
      promise_resolve_result(r->target, &res, r->file, r->line);
    } else {
      promise_settle_like(r->target, source);
    }
    break;
  }
  case R_FINALLY:
    r->u.fin.fn(r->u.fin.arg);
    /* then(() => PromiseResolve(onFinally()).then(() => value)): the
     * target follows a settled promise, as if resolved with one */
    source->refs++;
    promise_adopt(r->target, source, r->file, r->line);
    break;
  case R_ADOPT:
    promise_settle_like(r->target, source);
    break;
  case R_ELEMENT:
    combinator_element(r, source);
    break;
  case R_AWAIT:
    prefetch_next_task(source->loop);
    task_resume_with(r->u.await.task, source);
    break;
  }
  reaction_free(source->loop, r);
}

void *job_callback(const job *j) {
  if (j->fn == thenable_job)
    return job_callback(&(job){run_reaction, j->arg});
  if (j->fn != run_reaction)
    return (void *)j->fn;
  const reaction *r = j->arg;
  switch (r->kind) {
  case R_THEN:
    return (void *)(r->u.then.on_ok ? r->u.then.on_ok : r->u.then.on_err);
  case R_FINALLY:
    return (void *)r->u.fin.fn;
  case R_AWAIT:
    return task_function(r->u.await.task);
  default:
    return (void *)j->fn;
  }
}

/* ---- the public API ---------------------------------------------------- */

cw_promise *cw_promise_new_at(cw_loop *loop, const char *file, int line) {
  if (!loop) {
    misuse(NULL, "cw_promise_new", file, line, "the loop is NULL");
    return NULL;
  }
  return promise_handle(promise_alloc(loop, file, line));
}

cw_promise *cw_resolved_at(cw_loop *loop, void *value, const char *file, int line) {
  if (!loop) {
    misuse(NULL, "cw_resolved", file, line, "the loop is NULL");
    return NULL;
  }
  cw_promise *p = promise_alloc(loop, file, line);
  promise_settle(p, CW_FULFILLED, value, 0, file, line);
  return promise_handle(p);
}

static bool valid_error(cw_loop *loop, const char *function, int error, const char *file, int line) {
  if (error < 0)
    return true;
  misuse(loop, function, file, line, "error %d: a rejection is a negative libuv or clockwork code", error);
  return false;
}

cw_promise *cw_rejected_at(cw_loop *loop, int error, const char *file, int line) {
  if (!loop) {
    misuse(NULL, "cw_rejected", file, line, "the loop is NULL");
    return NULL;
  }
  if (!valid_error(loop, "cw_rejected", error, file, line))
    error = CW_EMISUSE;
  cw_promise *p = promise_alloc(loop, file, line);
  promise_settle(p, CW_REJECTED, NULL, error, file, line);
  return promise_handle(p);
}

/* The user may settle p: it is theirs and not resolved yet. */
static bool settleable(cw_promise *p, const char *function, const char *file, int line) {
  if (p->flags & P_CORE) {
    misuse(p->loop, function, file, line,
           "the promise created at %s:%d is settled by clockwork (it comes from cw_then, cw_finally or a "
           "combinator)",
           p->file, p->line);
    return false;
  }
  if (p->flags & P_RESOLVED) {
    misuse(p->loop, function, file, line, "the promise created at %s:%d is already resolved (%s)", p->file,
           p->line, p->state == CW_PENDING ? "following another promise" : state_name((cw_state)p->state));
    return false;
  }
  return true;
}

void cw_resolve_at(cw_promise *handle, void *value, const char *file, int line) {
  cw_promise *p = promise_take(handle, "cw_resolve", file, line);
  if (!p)
    return;
  if (settleable(p, "cw_resolve", file, line))
    promise_settle(p, CW_FULFILLED, value, 0, file, line);
  promise_unref(p);
}

void cw_reject_at(cw_promise *handle, int error, const char *file, int line) {
  cw_promise *p = promise_take(handle, "cw_reject", file, line);
  if (!p)
    return;
  if (settleable(p, "cw_reject", file, line)) {
    if (!valid_error(p->loop, "cw_reject", error, file, line))
      error = CW_EMISUSE;
    promise_settle(p, CW_REJECTED, NULL, error, file, line);
  }
  promise_unref(p);
}

void cw_resolve_with_at(cw_promise *handle, cw_promise *source_handle, const char *file, int line) {
  cw_promise *p = promise_take(handle, "cw_resolve_with", file, line);
  cw_promise *source = promise_take(source_handle, "cw_resolve_with", file, line);
  if (p && source && source->loop != p->loop) {
    misuse(p->loop, "cw_resolve_with", file, line, "the source promise belongs to another loop");
  } else if (p && source && settleable(p, "cw_resolve_with", file, line)) {
    promise_adopt(p, source, file, line);
    source = NULL; /* consumed by the adoption */
  }
  if (source)
    promise_unref(source);
  if (p)
    promise_unref(p);
}

static cw_promise *attach(cw_promise *handle, reaction_kind kind, const char *function, const char *file,
                          int line, reaction **out) {
  cw_promise *p = promise_take(handle, function, file, line);
  if (!p)
    return NULL;
  cw_promise *derived = promise_alloc(p->loop, file, line);
  derived->flags |= P_CORE;
  *out = reaction_new(p->loop, kind, derived, file, line);
  return p;
}

cw_promise *cw_then_at(cw_promise *handle, cw_handler on_ok, cw_handler on_err, void *arg, const char *file,
                       int line) {
  reaction *r;
  cw_promise *p = attach(handle, R_THEN, "cw_then", file, line, &r);
  if (!p)
    return NULL;
  r->u.then.on_ok = on_ok;
  r->u.then.on_err = on_err;
  r->u.then.arg = arg;
  cw_promise *derived = r->target;
  promise_react(p, r, file, line);
  promise_unref(p);
  return promise_handle(derived);
}

cw_promise *cw_finally_at(cw_promise *handle, cw_fn fn, void *arg, const char *file, int line) {
  if (!fn) /* finally(undefined) is then(undefined, undefined) */
    return cw_then_at(handle, NULL, NULL, NULL, file, line);
  reaction *r;
  cw_promise *p = attach(handle, R_FINALLY, "cw_finally", file, line, &r);
  if (!p)
    return NULL;
  r->u.fin.fn = fn;
  r->u.fin.arg = arg;
  cw_promise *derived = r->target;
  promise_react(p, r, file, line);
  promise_unref(p);
  return promise_handle(derived);
}

cw_promise *cw_ref_at(cw_promise *handle, const char *file, int line) {
  cw_promise *p = promise_check(handle, "cw_ref", file, line);
  if (!p)
    return NULL;
  p->user_refs++;
  return handle;
}

static void drop(cw_promise *handle, const char *function, uint8_t flag, const char *file, int line) {
  cw_promise *p = promise_take(handle, function, file, line);
  if (p) {
    p->flags |= flag;
    promise_unref(p);
  }
}

void cw_release_at(cw_promise *handle, const char *file, int line) { drop(handle, "cw_release", 0, file, line); }

void cw_detach_at(cw_promise *handle, const char *file, int line) {
  drop(handle, "cw_detach", P_DETACHED, file, line);
}

cw_loop *cw_promise_loop_at(const cw_promise *handle, const char *file, int line) {
  cw_promise *p = promise_check(handle, "cw_promise_loop", file, line);
  return p ? p->loop : NULL;
}

cw_state cw_promise_state_at(const cw_promise *handle, const char *file, int line) {
  cw_promise *p = promise_check(handle, "cw_promise_state", file, line);
  return p ? (cw_state)p->state : CW_PENDING;
}

cw_result cw_promise_result_at(const cw_promise *handle, const char *file, int line) {
  cw_promise *p = promise_check(handle, "cw_promise_result", file, line);
  return p ? promise_result(p) : (cw_result){CW_PENDING, NULL, 0, NULL};
}

struct floating_visit {
  cw_floating_fn fn;
  void *arg;
  size_t count;
};

static void visit_floating(void *obj, void *arg) {
  cw_promise *p = obj;
  struct floating_visit *v = arg;
  if (p->user_refs == 0)
    return;
  v->count++;
  if (v->fn)
    v->fn(v->arg, p->file, p->line, (cw_state)p->state, p->user_refs);
}

size_t cw_loop_floating(cw_loop *loop, cw_floating_fn fn, void *arg) {
  if (!loop) {
    misuse(NULL, "cw_loop_floating", NULL, 0, "the loop is NULL");
    return 0;
  }
  struct floating_visit v = {fn, arg, 0};
  pool_each(&loop->promises, visit_floating, &v);
  return v.count;
}
