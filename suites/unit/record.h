/* A sequence of labels recorded as callbacks run, to compare with the lines
 * Node prints for the equivalent JavaScript ("j1 outer j2" for j1, outer, j2). */
#ifndef CW_UNIT_RECORD_H
#define CW_UNIT_RECORD_H

#include <clockwork/core.h>

void rec(const char *label);
void rec_fmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
const char *rec_seq(void);
void rec_reset(void);

#define assert_rec(expected) assert_string_equal(rec_seq(), expected)

/* () => log(label): a cw_fn. */
void rec_fn(void *label);
/* A handler that records label and passes its input on unchanged. */
cw_result rec_pass(void *label, cw_result in);

/* What a handler saw: rec_observe records label, counts the call, keeps the
 * input and fulfils with NULL, as (x) => { log(label) } does. */
typedef struct observer {
  const char *label;
  int calls;
  cw_result in;
} observer;
cw_result rec_observe(void *observer, cw_result in);

/* Promise.resolve().then(() => log('j1')).then(() => log('j2'))... up to
 * prefix + n: plain jobs one after another, to measure when other jobs run. */
void rec_chain(cw_loop *loop, const char *prefix, int n);

#endif
