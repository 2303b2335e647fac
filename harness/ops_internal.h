/* The fakes' operations as the harness sees them: the fakes call the
 * probes' hooks (harness_internal.h), which pass each operation on to the
 * trace (its op records) before counting it; the trace ends the probes of
 * a harness being freed. */
#ifndef CLOCKWORK_OPS_INTERNAL_H
#define CLOCKWORK_OPS_INTERNAL_H

#include "harness_internal.h"

/* trace.c: records op while the trace keeps op records (CW_TRACE set when
 * the harness was made). */
void trace_op_started(cw_harness *h, const cw_io_op *op);
void trace_op_completed(cw_harness *h, const cw_io_op *op, intptr_t result);

/* probe.c: ends the probes of h, which is being freed; they no longer refer to it. */
void probes_release(cw_harness *h);

#endif
