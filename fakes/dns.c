/* The fake DNS: a table of names and their addresses, read when a resolve
 * completes (after its rules' latency), so an entry added meanwhile counts. */
#include "fakes_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One entry; f->dns is the first (the newest). */
struct fake_dns {
  fake_dns *next;
  char addr[sizeof ((cw_io_op *)0)->addr];
  char name[];
};

static fake_dns *lookup(fake_dns *table, const char *name) {
  for (fake_dns *e = table; e; e = e->next)
    if (strcmp(e->name, name) == 0)
      return e;
  return NULL;
}

int cw_fake_dns_add_at(cw_harness *h, const char *name, const char *addr, const char *file, int line) {
  fakes *f = fakes_of(h, "cw_fake_dns_add", file, line);
  if (!f)
    return UV_EINVAL;
  if (!name || !addr || strlen(addr) >= sizeof f->dns->addr) {
    cw_harness_fail_at(h, file, line, "cw_fake_dns_add: %s",
                       !name   ? "name is NULL"
                       : !addr ? "addr is NULL"
                               : "addr is longer than an IPv6 address (45 bytes)");
    return UV_EINVAL;
  }
  fake_dns *e = lookup(f->dns, name);
  if (!e) {
    size_t n = strlen(name) + 1;
    e = malloc(sizeof *e + n);
    if (!e)
      return UV_ENOMEM;
    memcpy(e->name, name, n);
    e->next = f->dns;
    f->dns = e;
  }
  strcpy(e->addr, addr);
  return 0;
}

/* A short fault means nothing for a resolve: it fails as an error does. */
static void perform_resolve(fakes *f, fake_op *o) {
  cw_io_op *op = o->op;
  const fake_dns *e = lookup(f->dns, op->path);
  if (o->plan.fault.kind != CW_FAULT_NONE)
    fakes_complete(f, op, o->plan.fault.code, NULL);
  else if (!e)
    fakes_complete(f, op, UV_EAI_NONAME, NULL);
  else {
    memcpy(op->addr, e->addr, sizeof op->addr);
    fakes_complete(f, op, 0, NULL);
  }
}

void dns_submit(fakes *f, cw_io_op *op, fake_plan plan) { fakes_run_op(f, op, plan, perform_resolve); }

void dns_destroy(fakes *f) {
  for (fake_dns *e = f->dns, *next; e; e = next) {
    next = e->next;
    free(e);
  }
  f->dns = NULL;
}
