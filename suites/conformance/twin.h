/* Shared by the C twins of the Node conformance programs in node/: the loop
 * (global, as Node's is to a script), console.log, and running a script. */
#ifndef CW_CONFORMANCE_TWIN_H
#define CW_CONFORMANCE_TWIN_H

#include <clockwork/core.h>

extern cw_loop *loop;

/* console.log(line), flushed at once so the order survives a crash; a cw_fn. */
void say(void *line);
/* () => console.log(line) as a promise handler: prints and fulfils with NULL. */
cw_result then_say(void *line, cw_result in);
/* Promise.resolve().then(() => console.log(label))... for each label up to
 * a NULL, one job after another: the jobs the programs measure by. */
void say_in_chain(const char *label, ...);
/* Runs script as the main macrotask on a fresh loop, then frees the loop.
 * Returns the exit status: 0 only when cw_run returned 0 and no promise
 * reference was left floating. */
int twin_main(cw_fn script);

#endif
