/* A usage error: exit 2 and nothing linted. */
void f(void *p) { (void)p; }
