/* Files of one directory that begin with the same directives share one
 * parse of them (-v says which); what cwlint reports must be what it
 * reports when each is parsed alone (alone.c): the same findings, a
 * cwlint-ignore on a shared line, the same errors, and files/d.c, whose
 * __LINE__ stops the sharing. broken/: shared directives that do not
 * compile, so each file is parsed alone. */
