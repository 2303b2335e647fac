/* The SVG timeline: for each run, an area chart of the operations in
 * flight, the labels as ticks, one row per lane with a bar per operation,
 * and a time axis. Large traces are drawn at the resolution of the
 * picture: beyond MAX_ROWS lanes a row stands for several lanes, and
 * operations narrower than a pixel or two merge into one bar with their
 * neighbours, so the file stays small (under a megabyte for thousands of
 * operations over hours). */
#include "cwtrace.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum {
  WIDTH = 1200,
  LEFT = 100, /* row names */
  RIGHT = 30,
  PLOT = WIDTH - LEFT - RIGHT,
  TITLE_H = 40,
  HEADER_H = 26,
  CHART_H = 50,
  GAP_H = 8,
  STRIP_H = 14,
  ROW_H = 14,
  BAR_H = 10,
  AXIS_H = 26,
  SECTION_GAP = 18,
  MAX_ROWS = 48,
};
#define MIN_BAR_PX 2.0 /* narrower operations merge with touching neighbours */
#define MERGE_GAP_PX 1.0

/* ---- text ------------------------------------------------------------------------ */

static void put_xml(FILE *out, const char *s) {
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    switch (c) {
    case '&': fputs("&amp;", out); break;
    case '<': fputs("&lt;", out); break;
    case '>': fputs("&gt;", out); break;
    case '"': fputs("&quot;", out); break;
    default: putc(c < 0x20 ? ' ' : c, out); /* control characters are not XML */
    }
  }
}

typedef struct unit {
  double ms;
  const char *name;
} unit;

static const unit units[] = {{1, "ms"}, {1000, "s"}, {60000, "min"}, {3600000, "h"}};

/* The largest unit at most half of ms (milliseconds below two seconds), so
 * that a span reads "0 h, 1 h, ... 5 h" and a duration "90 s", not "1.5 min". */
static unit unit_for(double ms) {
  size_t i = 0;
  while (i + 1 < sizeof units / sizeof *units && ms >= 2 * units[i + 1].ms)
    i++;
  return units[i];
}

/* A duration for people: "50 ms", "90 s", "5.02 h". */
static void put_duration(FILE *out, double ms) {
  unit u = unit_for(ms);
  fprintf(out, u.ms == 1 ? "%.4g %s" : "%.3g %s", ms / u.ms, u.name);
}

/* ---- the axis ---------------------------------------------------------------------- */

/* Tick steps people read easily, in ms; beyond the table, days doubled. */
static const double nice_steps[] = {
    0.001, 0.002, 0.005, 0.01,  0.02,   0.05,   0.1,     0.2,     0.5,     1,        2,        5,        10,
    20,    50,    100,   200,   500,    1000,   2000,    5000,    10000,   15000,    30000,    60000,    120000,
    300000, 600000, 900000, 1800000, 3600000, 7200000, 10800000, 21600000, 43200000, 86400000};
enum { MAX_TICKS = 10 };

static double tick_step(double span) {
  for (size_t i = 0; i < sizeof nice_steps / sizeof *nice_steps; i++)
    if (span / nice_steps[i] <= MAX_TICKS)
      return nice_steps[i];
  double step = 2 * 86400000.0;
  while (span / step > MAX_TICKS)
    step *= 2;
  return step;
}

/* ---- a run's geometry ----------------------------------------------------------------- */

typedef struct section {
  const tr_run *r;
  double span;     /* ms shown across PLOT */
  size_t per_row;  /* lanes a row stands for */
  size_t rows;
  double top;      /* y of the section */
  double chart_y, strip_y, rows_y, axis_y;
} section;

static double x_of(const section *s, double ms) { return LEFT + ms / s->span * PLOT; }

static section layout(const tr_run *r, double top) {
  section s = {r, r->end_ms > 0 ? r->end_ms : 1, 1, r->lanes, top, 0, 0, 0, 0};
  if (r->lanes > MAX_ROWS) {
    s.per_row = (r->lanes + MAX_ROWS - 1) / MAX_ROWS;
    s.rows = (r->lanes + s.per_row - 1) / s.per_row;
  }
  s.chart_y = top + HEADER_H;
  s.strip_y = s.chart_y + CHART_H + GAP_H;
  s.rows_y = s.strip_y + (r->n_labels ? STRIP_H : 0);
  s.axis_y = s.rows_y + (double)s.rows * ROW_H + 4;
  return s;
}

static double section_height(const tr_run *r) {
  section s = layout(r, 0);
  return s.axis_y + AXIS_H + SECTION_GAP;
}

/* ---- colours by area; failures in red --------------------------------------------------- */

static const struct {
  const char *area, *color;
} kinds[] = {{"fs", "#4e79a7"}, {"net", "#59a14f"}, {"dns", "#f28e2b"}, {"work", "#b07aa1"},
             {"other", "#9c9c9c"}, {"failed", "#e15759"}};
enum { KIND_OTHER = 4, KIND_FAILED = 5, N_KINDS = 6 };

static size_t kind_of(const tr_op *o) {
  if (o->result < 0)
    return KIND_FAILED;
  size_t n = strcspn(o->op, ".");
  for (size_t k = 0; k < KIND_OTHER; k++)
    if (strlen(kinds[k].area) == n && strncmp(o->op, kinds[k].area, n) == 0)
      return k;
  return KIND_OTHER;
}

/* ---- the parts of a section ----------------------------------------------------------------- */

static void put_header(FILE *out, const section *s, size_t index, size_t n_runs, size_t peak) {
  const tr_run *r = s->r;
  fprintf(out, "<text class=\"run\" x=\"%d\" y=\"%.1f\">", LEFT, s->top + 16);
  if (n_runs > 1)
    fprintf(out, "run %zu of %zu: ", index + 1, n_runs);
  fprintf(out, "%zu operation%s on %zu lane%s over ", r->n_ops, r->n_ops == 1 ? "" : "s", r->lanes,
          r->lanes == 1 ? "" : "s");
  put_duration(out, r->end_ms);
  fprintf(out, " of virtual time, peak %zu in flight", peak);
  if (r->n_labels)
    fprintf(out, ", %zu label%s", r->n_labels, r->n_labels == 1 ? "" : "s");
  fputs("</text>\n", out);

  bool present[N_KINDS] = {false};
  for (size_t i = 0; i < r->n_ops; i++)
    present[kind_of(&r->ops[i])] = true;
  double x = WIDTH - RIGHT;
  for (size_t k = N_KINDS; k-- > 0;)
    if (present[k]) {
      x -= 12 + 7 * (double)strlen(kinds[k].area) + 12;
      fprintf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"10\" height=\"10\" fill=\"%s\"/>", x, s->top + 7,
              kinds[k].color);
      fprintf(out, "<text x=\"%.1f\" y=\"%.1f\">%s</text>\n", x + 13, s->top + 16, kinds[k].area);
    }
}

typedef struct edge {
  double ms;
  int delta;
} edge;

static int by_time(const void *a, const void *b) {
  const edge *x = a, *y = b;
  if (x->ms != y->ms)
    return x->ms < y->ms ? -1 : 1;
  return x->delta - y->delta; /* an op ending frees its place for one starting then */
}

/* The most operations in flight within each pixel column, into per_px
 * (PLOT entries); returns the peak, or SIZE_MAX when out of memory. */
static size_t in_flight(const section *s, size_t *per_px) {
  const tr_run *r = s->r;
  edge *edges = malloc((2 * r->n_ops + 1) * sizeof *edges);
  if (!edges)
    return SIZE_MAX;
  size_t n = 0;
  for (size_t i = 0; i < r->n_ops; i++)
    if (r->ops[i].end_ms > r->ops[i].start_ms) {
      edges[n++] = (edge){r->ops[i].start_ms, 1};
      edges[n++] = (edge){r->ops[i].end_ms, -1};
    }
  qsort(edges, n, sizeof *edges, by_time);
  size_t now = 0, peak = 0, e = 0;
  for (size_t px = 0; px < PLOT; px++) {
    double column_end = s->span * (double)(px + 1) / PLOT;
    size_t most = now;
    while (e < n && (edges[e].ms < column_end || px + 1 == PLOT)) {
      now = (size_t)((long long)now + edges[e++].delta);
      most = now > most ? now : most;
    }
    per_px[px] = most;
    peak = most > peak ? most : peak;
  }
  free(edges);
  return peak;
}

static void put_chart(FILE *out, const section *s, const size_t *per_px, size_t peak) {
  double bottom = s->chart_y + CHART_H;
  fprintf(out, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">in flight</text>\n", LEFT - 8,
          s->chart_y + CHART_H / 2.0 + 4);
  fprintf(out, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\" class=\"small\">%zu</text>\n", LEFT - 8,
          s->chart_y + 9, peak);
  fprintf(out, "<rect class=\"frame\" x=\"%d\" y=\"%.1f\" width=\"%d\" height=\"%d\"/>\n", LEFT, s->chart_y, PLOT,
          CHART_H);
  if (!peak)
    return;
  fprintf(out, "<path class=\"flight\" d=\"M%d,%.1f", LEFT, bottom);
  double last = -1;
  for (size_t px = 0; px < PLOT; px++) {
    double y = bottom - (double)per_px[px] / (double)peak * CHART_H;
    if (y != last)
      fprintf(out, "H%zuV%.1f", (size_t)LEFT + px, y);
    last = y;
  }
  fprintf(out, "H%dV%.1fZ\"/>\n", LEFT + PLOT, bottom);
}

/* Labels as ticks above the rows, one per pixel column that has any. */
static void put_labels(FILE *out, const section *s) {
  const tr_run *r = s->r;
  if (!r->n_labels)
    return;
  fprintf(out, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">labels</text>\n", LEFT - 8, s->strip_y + 10);
  for (size_t i = 0; i < r->n_labels;) {
    long px = lround(x_of(s, r->labels[i].time_ms));
    size_t j = i + 1;
    while (j < r->n_labels && lround(x_of(s, r->labels[j].time_ms)) == px)
      j++;
    fprintf(out, "<line class=\"label\" x1=\"%ld\" y1=\"%.1f\" x2=\"%ld\" y2=\"%.1f\"><title>", px, s->strip_y + 1, px,
            s->strip_y + STRIP_H - 2);
    put_xml(out, r->labels[i].label);
    fprintf(out, " (%s) at ", r->labels[i].phase);
    put_duration(out, r->labels[i].time_ms);
    if (j - i > 1)
      fprintf(out, ", and %zu more", j - i - 1);
    fputs("</title></line>\n", out);
    i = j;
  }
}

/* An operation placed in its row, for drawing. */
typedef struct placed {
  size_t row;
  double x0, x1;
  size_t op;
} placed;

static int by_row(const void *a, const void *b) {
  const placed *x = a, *y = b;
  if (x->row != y->row)
    return x->row < y->row ? -1 : 1;
  if (x->x0 != y->x0)
    return x->x0 < y->x0 ? -1 : 1;
  return (x->op > y->op) - (x->op < y->op);
}

typedef struct bar {
  size_t row, kind, count, first;
  double x0, x1, start_ms, end_ms;
} bar;

static void put_bar(FILE *out, const section *s, const bar *b) {
  const tr_op *o = &s->r->ops[b->first];
  double y = s->rows_y + (double)b->row * ROW_H + (ROW_H - BAR_H) / 2.0;
  double width = b->x1 - b->x0 < 1 ? 1 : b->x1 - b->x0;
  fprintf(out, "<rect class=\"bar %s\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%d\"><title>",
          kinds[b->kind].area, b->x0, y, width, BAR_H);
  if (b->count > 1)
    fprintf(out, "%zu operations, the first ", b->count);
  put_xml(out, o->op);
  putc(' ', out);
  put_xml(out, o->subject);
  if (o->result < 0)
    fprintf(out, " (failed: %lld)", (long long)o->result);
  fputs(": ", out);
  put_duration(out, b->start_ms);
  fputs(" to ", out);
  put_duration(out, b->end_ms);
  fputs("</title></rect>\n", out);
}

/* Whether op p joins bar b: touching, of the same kind, and either one too
 * narrow to see alone or the row standing for several lanes. */
static bool joins(const section *s, const bar *b, const placed *p, size_t kind) {
  if (p->row != b->row || kind != b->kind || p->x0 > b->x1 + MERGE_GAP_PX)
    return false;
  return s->per_row > 1 || b->x1 - b->x0 < MIN_BAR_PX || p->x1 - p->x0 < MIN_BAR_PX;
}

static bool put_rows(FILE *out, const section *s) {
  const tr_run *r = s->r;
  for (size_t row = 0; row < s->rows; row++) {
    size_t first = row * s->per_row + 1, last = first + s->per_row - 1;
    last = last > r->lanes ? r->lanes : last;
    double y = s->rows_y + (double)row * ROW_H;
    if (row % 2)
      fprintf(out, "<rect class=\"stripe\" x=\"%d\" y=\"%.1f\" width=\"%d\" height=\"%d\"/>\n", LEFT, y, PLOT, ROW_H);
    fprintf(out, "<text class=\"lane\" x=\"%d\" y=\"%.1f\" text-anchor=\"end\">", LEFT - 8, y + ROW_H - 3);
    if (first == last)
      fprintf(out, "lane %zu</text>\n", first);
    else
      fprintf(out, "lanes %zu-%zu</text>\n", first, last);
  }
  placed *ps = malloc((r->n_ops + 1) * sizeof *ps);
  if (!ps)
    return false;
  for (size_t i = 0; i < r->n_ops; i++)
    ps[i] = (placed){r->ops[i].lane / s->per_row, x_of(s, r->ops[i].start_ms), x_of(s, r->ops[i].end_ms), i};
  qsort(ps, r->n_ops, sizeof *ps, by_row);
  bar b = {0};
  for (size_t i = 0; i < r->n_ops; i++) {
    const tr_op *o = &r->ops[ps[i].op];
    size_t kind = kind_of(o);
    if (b.count && joins(s, &b, &ps[i], kind)) {
      b.count++;
      b.x1 = fmax(b.x1, ps[i].x1);
      b.end_ms = fmax(b.end_ms, o->end_ms);
      continue;
    }
    if (b.count)
      put_bar(out, s, &b);
    b = (bar){ps[i].row, kind, 1, ps[i].op, ps[i].x0, ps[i].x1, o->start_ms, o->end_ms};
  }
  if (b.count)
    put_bar(out, s, &b);
  free(ps);
  return true;
}

static void put_axis(FILE *out, const section *s) {
  double step = tick_step(s->span), bottom = s->axis_y;
  unit u = unit_for(s->span);
  fprintf(out, "<line class=\"axis\" x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\"/>\n", LEFT, bottom, LEFT + PLOT,
          bottom);
  for (size_t k = 0;; k++) {
    double ms = (double)k * step;
    if (ms > s->span * (1 + 1e-9))
      break;
    double x = x_of(s, ms);
    fprintf(out, "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", x, s->chart_y, x,
            bottom + 4);
    fprintf(out, "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%g %s</text>\n", x, bottom + 16,
            ms / u.ms, u.name);
  }
}

static bool put_section(FILE *out, const section *s, size_t index, size_t n_runs) {
  size_t *per_px = malloc(PLOT * sizeof *per_px);
  size_t peak = per_px ? in_flight(s, per_px) : SIZE_MAX;
  if (peak == SIZE_MAX) {
    free(per_px);
    return false;
  }
  fprintf(out, "<g class=\"run\" data-ops=\"%zu\" data-lanes=\"%zu\" data-rows=\"%zu\" data-peak=\"%zu\">\n",
          s->r->n_ops, s->r->lanes, s->rows, peak);
  put_header(out, s, index, n_runs, peak);
  put_axis(out, s);
  put_chart(out, s, per_px, peak);
  put_labels(out, s);
  bool ok = put_rows(out, s);
  fputs("</g>\n", out);
  free(per_px);
  return ok;
}

bool tr_write_svg(const tr_trace *t, const char *title, FILE *out) {
  double height = TITLE_H;
  for (size_t i = 0; i < t->n_runs; i++)
    height += section_height(&t->runs[i]);
  fprintf(out,
          "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
          "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%.0f\" viewBox=\"0 0 %d %.0f\">\n"
          "<style>text{font:11px sans-serif;fill:#333}.title{font-size:16px;font-weight:bold}"
          ".small{font-size:9px}.run{font-size:12px}.bar{stroke:#fff;stroke-width:0.5}"
          ".frame{fill:none;stroke:#ccc}.flight{fill:#4e79a7;fill-opacity:0.45;stroke:#4e79a7}"
          ".stripe{fill:#f4f4f4}.grid{stroke:#e4e4e4}.axis{stroke:#888}.label{stroke:#333}"
          ".tick{fill:#666}",
          WIDTH, height, WIDTH, height);
  for (size_t k = 0; k < N_KINDS; k++)
    fprintf(out, ".%s{fill:%s}", kinds[k].area, kinds[k].color);
  fprintf(out, "</style>\n<rect width=\"%d\" height=\"%.0f\" fill=\"#fff\"/>\n<text class=\"title\" x=\"%d\" y=\"26\">",
          WIDTH, height, LEFT);
  put_xml(out, title);
  fputs("</text>\n", out);
  double top = TITLE_H;
  for (size_t i = 0; i < t->n_runs; i++) {
    section s = layout(&t->runs[i], top);
    if (!put_section(out, &s, i, t->n_runs))
      return false;
    top += section_height(&t->runs[i]);
  }
  fputs("</svg>\n", out);
  return !ferror(out);
}
