/* A header that cannot be found is a fatal error: exit 2. */
#include "no/such/header.h"
void f(void) {}
