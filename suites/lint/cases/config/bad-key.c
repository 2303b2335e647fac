/* A configuration with an unknown key is a usage error. */
int unused;
