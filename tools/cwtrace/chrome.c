/* Chrome Trace Event JSON (the format chrome://tracing and Perfetto open):
 * one process per run, thread 0 for the labels, thread k for lane k. One
 * event a line, so that goldens diff well. */
#include "cwtrace.h"

#include <string.h>

static void put_json_string(FILE *out, const char *s) {
  static const char short_escapes[] = "\b\f\n\r\t", short_names[] = "bfnrt";
  putc('"', out);
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    const char *esc = strchr(short_escapes, c);
    if (c == '"' || c == '\\')
      fprintf(out, "\\%c", c);
    else if (esc)
      fprintf(out, "\\%c", short_names[esc - short_escapes]);
    else if (c < 0x20)
      fprintf(out, "\\u%04x", c);
    else
      putc(c, out);
  }
  putc('"', out);
}

/* Milliseconds as microseconds, with no trailing zeros: 1.5 ms is 1500, 0.0005 ms 0.5. */
static void put_us(FILE *out, double ms) {
  char text[64];
  snprintf(text, sizeof text, "%.3f", ms * 1000);
  char *end = text + strlen(text);
  while (end[-1] == '0')
    end--;
  if (end[-1] == '.')
    end--;
  fprintf(out, "%.*s", (int)(end - text), text);
}

/* The area of an op name: "fs" of "fs.read". */
static void put_category(FILE *out, const char *op) {
  size_t n = strcspn(op, ".");
  char area[64];
  snprintf(area, sizeof area, "%.*s", (int)(n < sizeof area ? n : sizeof area - 1), op);
  put_json_string(out, area);
}

/* Starts an event: the first one on its own line, the others after a comma. */
static void begin_event(FILE *out, bool *first) {
  fputs(*first ? "\n{" : ",\n{", out);
  *first = false;
}

/* A metadata event: a process's or thread's name, or its place among its peers. */
static void put_name(FILE *out, bool *first, const char *what, size_t pid, size_t tid, const char *name) {
  begin_event(out, first);
  fprintf(out, "\"name\":\"%s_name\",\"ph\":\"M\",\"pid\":%zu,\"tid\":%zu,\"args\":{\"name\":\"%s\"}}", what, pid, tid,
          name);
}

static void put_sort_index(FILE *out, bool *first, const char *what, size_t pid, size_t tid, size_t index) {
  begin_event(out, first);
  fprintf(out, "\"name\":\"%s_sort_index\",\"ph\":\"M\",\"pid\":%zu,\"tid\":%zu,\"args\":{\"sort_index\":%zu}}", what,
          pid, tid, index);
}

bool tr_write_chrome(const tr_trace *t, FILE *out) {
  bool first = true;
  fputs("{\"displayTimeUnit\":\"ms\",\"traceEvents\":[", out);
  for (size_t i = 0; i < t->n_runs; i++) {
    const tr_run *r = &t->runs[i];
    size_t pid = i + 1;
    char name[32];
    snprintf(name, sizeof name, "run %zu", pid);
    put_name(out, &first, "process", pid, 0, name);
    put_sort_index(out, &first, "process", pid, 0, pid);
    if (r->n_labels)
      put_name(out, &first, "thread", pid, 0, "labels");
    for (size_t lane = 1; lane <= r->lanes; lane++) {
      snprintf(name, sizeof name, "lane %zu", lane);
      put_name(out, &first, "thread", pid, lane, name);
      put_sort_index(out, &first, "thread", pid, lane, lane);
    }
    for (size_t j = 0; j < r->n_labels; j++) {
      const tr_label *l = &r->labels[j];
      begin_event(out, &first);
      fputs("\"name\":", out);
      put_json_string(out, l->label);
      fputs(",\"cat\":", out);
      put_json_string(out, l->phase);
      fputs(",\"ph\":\"i\",\"s\":\"t\",\"ts\":", out);
      put_us(out, l->time_ms);
      fprintf(out, ",\"pid\":%zu,\"tid\":0,\"args\":{\"macrotask\":%llu}}", pid, (unsigned long long)l->macrotask);
    }
    for (size_t j = 0; j < r->n_ops; j++) {
      const tr_op *o = &r->ops[j];
      begin_event(out, &first);
      fputs("\"name\":", out);
      put_json_string(out, o->op);
      fputs(",\"cat\":", out);
      put_category(out, o->op);
      fputs(",\"ph\":\"X\",\"ts\":", out);
      put_us(out, o->start_ms);
      fputs(",\"dur\":", out);
      put_us(out, o->end_ms - o->start_ms);
      fprintf(out, ",\"pid\":%zu,\"tid\":%zu,\"args\":{\"subject\":", pid, o->lane + 1);
      put_json_string(out, o->subject);
      fprintf(out, ",\"result\":%lld}}", (long long)o->result);
    }
  }
  fputs("\n]}\n", out);
  return !ferror(out);
}
