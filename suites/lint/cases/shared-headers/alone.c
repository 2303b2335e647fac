/* The files of shared.c, each parsed alone (--no-shared-headers): the
 * same findings and errors as with their headers shared. */
