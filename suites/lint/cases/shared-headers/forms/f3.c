/* Directives written in every form the scanner must follow; the shared
 * part ends at the prose inside the last #if 0. */
#include <clockwork/concurrency.h> /* a comment that goes on
                                      over two lines */
#define GREETING "/* not a comment */ // nor this"
#define TWO_LINES(x) \
  ((x) + 1)
#if 0
#define NEVER 1
#endif
#ifdef __STDC__
#  define INDENTED 1
#else
#  define INDENTED 0
#endif
  #include "../files/local.h" // from the directory of this file
#if 0
prose, which only a file's own parse reads
#endif

void form_3(cw_loop *loop, struct account *a) {
  a->id = TWO_LINES(INDENTED) + (int)sizeof GREETING;
  cw_sleep(loop, 3);
}
