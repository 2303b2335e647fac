/* twin_main on the harness (twin_harness.c), for a twin that prepares the
 * harness first: the fake file system's twin of 04 puts its file. */
#ifndef CW_HARNESS_TWIN_HARNESS_H
#define CW_HARNESS_TWIN_HARNESS_H

#include <clockwork/harness.h>

#include "twin.h"

/* twin_main, with prepare (when not NULL) called on the harness before the
 * script runs; a nonzero return from it is the exit status. */
int twin_harness_main(int (*prepare)(cw_harness *h), cw_fn script);

#endif
