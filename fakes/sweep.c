/* Fault sweeps, after SQLite's anomaly tests: a counting run, then one run
 * per swept operation and fault (and per operation with a power cut), each
 * in a child process so that a crash is reported with its run and the
 * sweep goes on.
 *
 * A run is the same code in the child and in process (a CW_SWEEP replay):
 * what it finds goes through record(), which in the child writes to a pipe
 * the parent decodes and in process fills the report directly. The k-th
 * swept operation is counted by sweep_plan, which rules_plan asks last, in
 * issue order and whatever the user's rules do. */
#define _GNU_SOURCE
#include "fakes_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Under LeakSanitizer: checks for leaks now, reporting them on stderr. */
extern int __lsan_do_recoverable_leak_check(void) __attribute__((weak));

/* ---- what a run found ------------------------------------------------------------ */

typedef struct text {
  char *s;
  size_t len, cap;
} text;

static void *grow(void *p, size_t size) {
  p = realloc(p, size);
  if (!p) {
    fprintf(stderr, "clockwork: cw_fault_sweep: out of memory\n");
    abort();
  }
  return p;
}

static void text_add(text *t, const char *s, size_t n) {
  if (t->len + n + 1 > t->cap) {
    t->cap = 2 * (t->len + n + 1);
    t->s = grow(t->s, t->cap);
  }
  memcpy(t->s + t->len, s, n);
  t->len += n;
  t->s[t->len] = '\0';
}

typedef struct run_report {
  uint64_t seed;
  char **ops;        /* swept operations described: all of them in the counting run, the k-th in others */
  size_t n_ops;
  text messages;     /* failures, each line indented */
  size_t n_messages;
  bool finished;     /* the run got to its end (or its power cut) */
  int status;        /* the child's wait status; 0 in process */
  text errors;       /* the child's stderr */
} run_report;

static void report_free(run_report *r) {
  for (size_t i = 0; i < r->n_ops; i++)
    free(r->ops[i]);
  free(r->ops);
  free(r->messages.s);
  free(r->errors.s);
}

/* Each line of s, indented, into t. */
static void add_indented(text *t, const char *s, const char *indent) {
  while (*s) {
    size_t n = strcspn(s, "\n");
    if (n)
      text_add(t, indent, strlen(indent));
    text_add(t, s, n);
    text_add(t, "\n", 1);
    s += n + (s[n] == '\n');
  }
}

/* Records, as the child sends them: a type byte, a length, the bytes. */
enum { REC_SEED = 'S', REC_OPERATION = 'O', REC_MESSAGE = 'M', REC_FINISHED = 'F' };

static void report_apply(run_report *r, char type, const char *s) {
  switch (type) {
  case REC_SEED:
    r->seed = strtoull(s, NULL, 10);
    break;
  case REC_OPERATION:
    r->ops = grow(r->ops, (r->n_ops + 1) * sizeof *r->ops);
    r->ops[r->n_ops++] = strdup(s);
    break;
  case REC_MESSAGE:
    add_indented(&r->messages, s, "    ");
    r->n_messages++;
    break;
  case REC_FINISHED:
    r->finished = true;
    break;
  }
}

/* A sanitizer's report in what the child wrote to stderr (UBSan goes on after its). */
static bool sanitizer_report(const text *errors) {
  return errors->s && (strstr(errors->s, "runtime error: ") || strstr(errors->s, "==ERROR: "));
}

static bool report_passed(const run_report *r) {
  return r->finished && !r->n_messages && r->status == 0 && !sanitizer_report(&r->errors);
}

/* ---- one run ------------------------------------------------------------------------ */

typedef struct sweep_run {
  const cw_sweep_spec *spec;
  size_t k;              /* the swept operation faulted or cut after; 0: none (the counting run) */
  const cw_fault *fault; /* NULL: a power cut */
  cw_harness *h;
  size_t seen;           /* swept operations so far */
  uint64_t target;       /* the k-th one's id, once issued */
  bool cut, ending;      /* the power was cut; the harness is being freed */
  int fd;                /* the child's end of the pipe; -1 in process */
  run_report report;     /* in process */
} sweep_run;

/* The run in progress (one harness per process: one run at a time). */
static sweep_run *active;

static void write_all(int fd, const void *data, size_t len) {
  const char *p = data;
  while (len) {
    ssize_t n = write(fd, p, len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return; /* the parent is gone: nobody to tell */
    p += n;
    len -= (size_t)n;
  }
}

static void record(sweep_run *run, char type, const char *s) {
  if (run->fd < 0) {
    report_apply(&run->report, type, s);
    return;
  }
  uint32_t len = (uint32_t)strlen(s);
  write_all(run->fd, &type, 1);
  write_all(run->fd, &len, sizeof len);
  write_all(run->fd, s, len);
}

/* The harness's failures; those after a power cut are the dead program's teardown. */
static void collect(void *arg, const char *message) {
  sweep_run *run = arg;
  if (!run->cut)
    record(run, REC_MESSAGE, message);
}

static void check_invariant(sweep_run *run) {
  char why[1024] = "";
  if (!run->spec->invariant || run->spec->invariant(run->h, run->spec->arg, why, sizeof why))
    return;
  char message[sizeof why + 16];
  snprintf(message, sizeof message, "invariant: %s", why[0] ? why : "(no reason given)");
  record(run, REC_MESSAGE, message);
}

/* "fs.rename /a.tmp -> /a", "net.connect db:5432", "work.run". */
static void describe(const cw_io_op *op, char *out, size_t size) {
  char buf[256];
  const char *subject = rules_subject(op, buf, sizeof buf);
  snprintf(out, size, "%s%s%s%s%s", cw_op_name(op->kind), *subject ? " " : "", subject, op->path2 ? " -> " : "",
           op->path2 ? op->path2 : "");
}

void sweep_plan(fakes *f, const cw_io_op *op, fake_plan *plan) {
  sweep_run *run = active;
  if (!run || run->h != f->h)
    return;
  if (run->cut) {
    plan->fault = (cw_fault){CW_FAULT_HANG, 0}; /* the program is dead: nothing more happens */
    return;
  }
  if (!rules_op_matches(run->spec->ops, op->kind) || (++run->seen != run->k && run->k))
    return;
  char operation[600];
  describe(op, operation, sizeof operation);
  record(run, REC_OPERATION, operation);
  if (!run->k)
    return;
  run->target = op->id;
  if (run->fault)
    plan->fault = *run->fault;
}

/* A child's run ends here: what it found is in the pipe. */
static void end_child(sweep_run *run) {
  record(run, REC_FINISHED, "");
  fflush(NULL);
  _exit(0);
}

/* The power cut, right after the k-th operation takes effect: the fake
 * disk loses what was not synced, the invariant is checked on it, and the
 * program stops: the loop returns and later operations hang. */
static void after_complete(fakes *f, const cw_io_op *op, void *arg) {
  sweep_run *run = arg;
  if (run->cut || run->ending || op->id != run->target)
    return;
  cw_fake_fs_crash(f->h);
  run->cut = true;
  check_invariant(run);
  uv_stop(cw_loop_uv(f->loop));
  if (run->fd >= 0)
    end_child(run);
}

static void run_once(sweep_run *run) {
  cw_harness_opts opts = run->spec->opts;
  opts.fail = collect;
  opts.fail_arg = run;
  run->h = cw_harness_new(&opts);
  if (!run->h) {
    record(run, REC_MESSAGE, "cw_harness_new failed");
    record(run, REC_FINISHED, "");
    return;
  }
  char seed[24];
  snprintf(seed, sizeof seed, "%" PRIu64, cw_harness_seed(run->h));
  record(run, REC_SEED, seed);
  active = run;
  if (run->k && !run->fault) {
    run->h->fakes->after_complete = after_complete;
    run->h->fakes->after_complete_arg = run;
  }
  if (run->spec->setup)
    run->spec->setup(run->h, run->spec->arg);
  run->spec->scenario(run->h, run->spec->arg);
  if (!run->cut)
    check_invariant(run);
  run->ending = true;
  cw_harness_free(run->h);
  active = NULL;
  record(run, REC_FINISHED, "");
}

static void read_all(int fd, text *t) {
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))
    if (n > 0)
      text_add(t, buf, (size_t)n);
}

/* The records of a child's pipe, into r. */
static void decode(const text *t, run_report *r) {
  size_t at = 0;
  uint32_t len;
  while (at + 1 + sizeof len <= t->len) {
    char type = t->s[at];
    memcpy(&len, t->s + at + 1, sizeof len);
    at += 1 + sizeof len;
    if (len > t->len - at)
      break; /* cut short by a crash */
    char *s = strndup(t->s + at, len);
    report_apply(r, type, s);
    free(s);
    at += len;
  }
}

/* Runs k with fault (NULL: a cut) in a child; what it found goes in r. */
static void run_in_child(const cw_sweep_spec *spec, size_t k, const cw_fault *fault, run_report *r) {
  memset(r, 0, sizeof *r);
  int fds[2];
  FILE *errors = tmpfile();
  if (!errors || pipe(fds) < 0) {
    report_apply(r, REC_MESSAGE, "cw_fault_sweep: no pipe or temporary file for a child");
    if (errors)
      fclose(errors);
    return;
  }
  fflush(NULL); /* or the child's exit would write the parent's buffers again */
  pid_t child = fork();
  if (child == 0) {
    close(fds[0]);
    dup2(fileno(errors), STDERR_FILENO);
    sweep_run run = {.spec = spec, .k = k, .fault = fault, .fd = fds[1]};
    run_once(&run);
    if (__lsan_do_recoverable_leak_check) /* _exit skips LeakSanitizer's check at exit */
      __lsan_do_recoverable_leak_check();
    end_child(&run);
  }
  close(fds[1]);
  if (child < 0) {
    report_apply(r, REC_MESSAGE, "cw_fault_sweep: fork failed");
  } else {
    text records = {0};
    read_all(fds[0], &records);
    decode(&records, r);
    free(records.s);
    while (waitpid(child, &r->status, 0) < 0 && errno == EINTR)
      ;
  }
  close(fds[0]);
  rewind(errors);
  read_all(fileno(errors), &r->errors);
  fclose(errors);
}

/* ---- reports -------------------------------------------------------------------------- */

/* The command that started this process, from /proc/self/cmdline, its
 * arguments quoted for a shell where needed. */
static void command_line(text *t) {
  text raw = {0};
  FILE *in = fopen("/proc/self/cmdline", "rb");
  if (in) {
    read_all(fileno(in), &raw);
    fclose(in);
  }
  for (size_t at = 0; at < raw.len; at += strlen(raw.s + at) + 1) {
    const char *arg = raw.s + at;
    if (at)
      text_add(t, " ", 1);
    if (*arg && strspn(arg, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-+=/.,:@%") ==
                    strlen(arg)) {
      text_add(t, arg, strlen(arg));
      continue;
    }
    text_add(t, "'", 1);
    for (const char *c = arg; *c; c++)
      if (*c == '\'')
        text_add(t, "'\\''", 4);
      else
        text_add(t, c, 1);
    text_add(t, "'", 1);
  }
  free(raw.s);
}

static void fault_text(const cw_fault *fault, char *out, size_t size) {
  const char *code = cw_err_name(fault->code ? fault->code : UV_EIO);
  switch (fault->kind) {
  case CW_FAULT_SHORT:
    snprintf(out, size, "short read or write (elsewhere error %s)", code);
    break;
  case CW_FAULT_HANG:
    snprintf(out, size, "hang");
    break;
  case CW_FAULT_RESET:
    snprintf(out, size, "reset (elsewhere error %s)", code);
    break;
  default:
    snprintf(out, size, "error %s", code);
  }
}

/* "4:1", "4:cut", "0" (the counting run). */
static void run_name(size_t k, size_t fault_index, const cw_fault *fault, char *out, size_t size) {
  if (!k)
    snprintf(out, size, "0");
  else if (fault)
    snprintf(out, size, "%zu:%zu", k, fault_index);
  else
    snprintf(out, size, "%zu:cut", k);
}

/* Prints a failing run: what was done to which operation, what went wrong,
 * and the command that replays it. */
static void print_failure(const run_report *r, size_t k, size_t fault_index, const cw_fault *fault,
                          const char *operation) {
  text out = {0};
  char name[48], line[1024];
  run_name(k, fault_index, fault, name, sizeof name);
  snprintf(line, sizeof line, "clockwork: fault sweep: run %s failed\n", name);
  text_add(&out, line, strlen(line));
  if (!k) {
    snprintf(line, sizeof line, "  the run without faults\n");
  } else {
    char what[128] = "power cut after it completed";
    if (fault)
      fault_text(fault, what, sizeof what);
    snprintf(line, sizeof line, "  operation %zu: %s\n  fault: %s\n", k,
             operation ? operation : "not reached (the run made fewer operations)", what);
  }
  text_add(&out, line, strlen(line));
  text_add(&out, r->messages.s ? r->messages.s : "", r->messages.len);
  if (!r->finished || r->status) {
    if (WIFSIGNALED(r->status))
      snprintf(line, sizeof line, "  crashed: signal %d (%s)\n", WTERMSIG(r->status), strsignal(WTERMSIG(r->status)));
    else
      snprintf(line, sizeof line, "  crashed: exit status %d before the run ended\n", WEXITSTATUS(r->status));
    text_add(&out, line, strlen(line));
  }
  if (r->errors.len) {
    text_add(&out, "  its stderr:\n", 14);
    add_indented(&out, r->errors.s, "    ");
  }
  snprintf(line, sizeof line, "  replay: CW_SWEEP=%s CW_SEED=%" PRIu64 " ", name, r->seed);
  text_add(&out, line, strlen(line));
  command_line(&out);
  text_add(&out, "\n", 1);
  fputs(out.s, stderr);
  fflush(stderr);
  free(out.s);
}

/* ---- the sweep ----------------------------------------------------------------------- */

static const cw_fault default_fault = {CW_FAULT_ERROR, UV_EIO};

static bool bad_spec(const cw_sweep_spec *spec, char *why, size_t size) {
  if (!spec) {
    snprintf(why, size, "spec is NULL");
    return true;
  }
  if (!spec->scenario) {
    snprintf(why, size, "spec->scenario is NULL");
    return true;
  }
  if (spec->opts.real_io) {
    snprintf(why, size, "spec->opts.real_io is set: a sweep runs on the fakes");
    return true;
  }
  if (spec->faults && !spec->n_faults) {
    snprintf(why, size, "spec->n_faults is 0 with spec->faults set");
    return true;
  }
  if (rules_bad_ops(spec->ops, "spec->ops", why, size))
    return true;
  for (size_t i = 0; spec->faults && i < spec->n_faults; i++) {
    char field[48];
    snprintf(field, sizeof field, "spec->faults[%zu]", i);
    if (rules_bad_fault(&spec->faults[i], field, why, size))
      return true;
    if (spec->faults[i].kind == CW_FAULT_NONE) {
      snprintf(why, size, "%s.kind is CW_FAULT_NONE: a sweep's fault must fail something", field);
      return true;
    }
  }
  if (harness_current) {
    snprintf(why, size, "a harness exists: each run makes its own (one per process)");
    return true;
  }
  return false;
}

/* CW_SWEEP: "k", "k:i" (the fault at index i), "k:cut", "0" (the counting run). */
static bool parse_replay(const char *s, size_t n_faults, size_t *k, size_t *fault_index, bool *cut) {
  char *end;
  errno = 0;
  unsigned long long n = strtoull(s, &end, 10);
  if (end == s || errno || *s == '-')
    return false;
  *k = (size_t)n;
  *fault_index = 0;
  *cut = false;
  if (!*end)
    return true;
  if (*end != ':' || !n)
    return false;
  if (!strcmp(end + 1, "cut"))
    return *cut = true;
  const char *index = end + 1;
  n = strtoull(index, &end, 10);
  *fault_index = (size_t)n;
  return end != index && !*end && *index != '-' && n < n_faults;
}

/* The run CW_SWEEP names, in process; a bad CW_SWEEP is a misuse at file:line. */
static int replay(const cw_sweep_spec *spec, const char *which, const cw_fault *faults, size_t n_faults,
                  cw_sweep_result *out, const char *file, int line) {
  size_t k, fault_index;
  bool cut;
  if (!parse_replay(which, n_faults, &k, &fault_index, &cut)) {
    fakes_misuse("cw_fault_sweep", file, line, "CW_SWEEP=%s: expected k, k:fault index (below %zu) or k:cut", which,
                 n_faults);
    return CW_EMISUSE;
  }
  const cw_fault *fault = cut ? NULL : &faults[fault_index];
  sweep_run run = {.spec = spec, .k = k, .fault = fault, .fd = -1};
  run_once(&run);
  bool passed = report_passed(&run.report);
  char name[48];
  run_name(k, fault_index, fault, name, sizeof name);
  if (passed)
    fprintf(stderr, "clockwork: fault sweep: run %s (CW_SWEEP) passed\n", name);
  else
    print_failure(&run.report, k, fault_index, fault, run.report.n_ops ? run.report.ops[0] : NULL);
  if (out)
    *out = (cw_sweep_result){run.seen, k ? 1 : 0, passed ? 0 : 1};
  report_free(&run.report);
  return passed ? 0 : 1;
}

int cw_fault_sweep_at(const cw_sweep_spec *spec, cw_sweep_result *out, const char *file, int line) {
  char why[256];
  if (bad_spec(spec, why, sizeof why)) {
    fakes_misuse("cw_fault_sweep", file, line, "%s", why);
    return CW_EMISUSE;
  }
  const cw_fault *faults = spec->faults ? spec->faults : &default_fault;
  size_t n_faults = spec->faults ? spec->n_faults : 1;
  const char *which = getenv("CW_SWEEP");
  if (which && *which)
    return replay(spec, which, faults, n_faults, out, file, line);

  cw_sweep_result result = {0};
  run_report counting;
  run_in_child(spec, 0, NULL, &counting);
  result.operations = counting.n_ops;
  size_t swept = counting.n_ops;
  if (!report_passed(&counting)) {
    print_failure(&counting, 0, 0, NULL, NULL);
    result.failed = 1;
    swept = 0; /* faulty runs of a failing scenario would only repeat its failure */
  }
  for (size_t k = 1; k <= swept; k++)
    for (size_t i = 0; i <= n_faults; i++) {
      const cw_fault *fault = i < n_faults ? &faults[i] : NULL;
      if (!fault && !spec->power_cut)
        break;
      run_report r;
      run_in_child(spec, k, fault, &r);
      result.runs++;
      if (!report_passed(&r)) {
        result.failed++;
        print_failure(&r, k, i, fault, r.n_ops ? r.ops[0] : counting.ops[k - 1]);
      }
      report_free(&r);
    }
  report_free(&counting);
  if (out)
    *out = result;
  return (int)result.failed;
}
