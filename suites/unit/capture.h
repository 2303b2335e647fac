/* What the code under test writes to stderr, captured through a temporary file. */
#ifndef CW_UNIT_CAPTURE_H
#define CW_UNIT_CAPTURE_H

void stderr_capture_begin(void);
/* Restores stderr and returns what was written meanwhile; the text stays
 * valid until the next capture. */
const char *stderr_capture_end(void);

#endif
