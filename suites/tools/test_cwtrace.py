#!/usr/bin/env python3
"""cwtrace against golden traces: the exact Chrome JSON (which node must also
parse), SVGs that are well-formed XML with the lanes, rows and bars expected,
large traces drawn small, and every error with its message and exit status.

usage: test_cwtrace.py CWTRACE GOLDEN_DIR [NODE]"""
import os
import random
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

CWTRACE, GOLDEN = sys.argv[1], sys.argv[2]
NODE = sys.argv[3] if len(sys.argv) > 3 else ""
SVG = "{http://www.w3.org/2000/svg}"
passed = failed = 0
work = tempfile.mkdtemp(prefix="cwtrace-test-")


def check(name, held, detail=""):
    global passed, failed
    if held:
        passed += 1
    else:
        failed += 1
        print(f"FAIL {name}{': ' + detail if detail else ''}")


def cwtrace(*args, stdin=None):
    return subprocess.run([CWTRACE, *args], input=stdin, capture_output=True, text=True)


def write(name, text):
    path = os.path.join(work, name)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return path


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def node_parses(path):
    if not NODE:
        return True
    r = subprocess.run([NODE, "-e", "JSON.parse(require('fs').readFileSync(process.argv[1], 'utf8'))", path],
                       capture_output=True, text=True)
    return r.returncode == 0


def svg_of(name, trace_text, *extra):
    """Draws trace_text; returns the parsed SVG root and the file's size."""
    trace = write(name + ".jsonl", trace_text)
    out = os.path.join(work, name + ".svg")
    r = cwtrace("--svg", out, *extra, trace)
    check(f"{name}: exit status", r.returncode == 0, r.stderr)
    return ET.parse(out).getroot(), os.path.getsize(out)


def by_class(root, tag, cls):
    return [e for e in root.iter(SVG + tag) if cls in e.get("class", "").split()]


def op_line(op, subject, start, end, result=0):
    return ('{"op":"%s","subject":"%s","start_ms":%.3f,"end_ms":%.3f,"result":%d}\n'
            % (op, subject, start, end, result))


# ---- golden Chrome JSON ----------------------------------------------------------------

for name in ["basic", "runs"]:
    out = os.path.join(work, name + ".json")
    r = cwtrace("--chrome", out, os.path.join(GOLDEN, name + ".jsonl"))
    check(f"{name}: exit status", r.returncode == 0, r.stderr)
    expected = read(os.path.join(GOLDEN, name + ".json"))
    actual = read(out)
    check(f"{name}: Chrome JSON as golden", actual == expected, "\n" + actual)
    check(f"{name}: node parses it", node_parses(out))

# the same through stdin and stdout
r = cwtrace("--chrome", "-", "-", stdin=read(os.path.join(GOLDEN, "basic.jsonl")))
check("stdin to stdout", r.returncode == 0 and r.stdout == read(os.path.join(GOLDEN, "basic.json")), r.stderr)

# ---- SVG: structure and content ---------------------------------------------------------

root, _ = svg_of("basic", read(os.path.join(GOLDEN, "basic.jsonl")), "--title", "A & B <c>")
check("basic: title escaped", any(t.text == "A & B <c>" for t in by_class(root, "text", "title")))
runs = by_class(root, "g", "run")
check("basic: one section", len(runs) == 1)
check("basic: 3 lanes", runs[0].get("data-lanes") == "3" and len(by_class(root, "text", "lane")) == 3)
check("basic: peak in flight is the lane count", runs[0].get("data-peak") == "3")
bars = by_class(root, "rect", "bar")
titles = [b.find(SVG + "title").text for b in bars]
# the zero-length fs.open merges into the read that follows it on lane 1
check("basic: 5 bars for 6 operations", len(bars) == 5, str(titles))
check("basic: merged bar says so", any(t.startswith("2 operations, the first fs.open /db/1") for t in titles),
      str(titles))
check("basic: failure in red, by class", len(by_class(root, "rect", "failed")) == 1)
check("basic: subject escaped in a title", any('tab here "quoted" <svg>&' in t for t in titles), str(titles))
check("basic: labels as ticks", len(by_class(root, "line", "label")) == 3)
ticks = [t.text for t in by_class(root, "text", "tick")]
check("basic: ticks in ms", ticks[:3] == ["0 ms", "10 ms", "20 ms"], str(ticks))

root, _ = svg_of("runs", read(os.path.join(GOLDEN, "runs.jsonl")))
lanes = [g.get("data-lanes") for g in by_class(root, "g", "run")]
check("runs: four sections with their lanes", lanes == ["1", "4", "1", "1"], str(lanes))
check("runs: sections say which run", any(t.text and t.text.startswith("run 2 of 4: ")
                                          for t in by_class(root, "text", "run")))

# a real CW_TRACE: the dashboard example's six tests, one harness each, the
# fakes' operations among the labels in completion order
root, _ = svg_of("dashboard", read(os.path.join(GOLDEN, "dashboard.jsonl")))
runs = by_class(root, "g", "run")
check("dashboard: six runs", [g.get("data-lanes") for g in runs] == ["3", "3", "3", "3", "2", "2"],
      str([g.get("data-lanes") for g in runs]))
answered = [line.find(SVG + "title").text for line in by_class(root, "line", "label")]
check("dashboard: each run's answer", [a.split(" at ")[1] for a in answered] ==
      ["99 ms", "60 ms", "100 ms", "100 ms", "45 ms", "30 ms"], str(answered))

# 6000 reads of 3 s one after the other: 5 hours, one lane, one bar, axis in hours
seq = "".join(op_line("fs.read", f"/db/{i}", i * 3000, (i + 1) * 3000) for i in range(6000))
root, size = svg_of("sequential", seq)
bars = by_class(root, "rect", "bar")
check("sequential: one lane", len(by_class(root, "text", "lane")) == 1)
check("sequential: merged into one bar", len(bars) == 1 and bars[0].find(SVG + "title").text.startswith(
    "6000 operations"))
ticks = [t.text for t in by_class(root, "text", "tick")]
check("sequential: ticks in hours", ticks[0] == "0 h" and ticks[-1] == "5 h" and all(t.endswith(" h") for t in ticks),
      str(ticks))
check("sequential: small", size < 20000, str(size))

# 6000 overlapping operations over 5 hours: rows stand for several lanes, the file stays small
# (written in completion order, as the harness writes them)
rng = random.Random(6)
spans = sorted(((s, s + rng.expovariate(1 / 600e3)) for s in (rng.uniform(0, 5 * 3600e3) for _ in range(6000))),
               key=lambda span: span[1])
busy = "".join(op_line(rng.choice(["fs.read", "net.read", "dns.resolve"]), f"x{i}", s, e)
               for i, (s, e) in enumerate(spans))
root, size = svg_of("busy", busy)
run = by_class(root, "g", "run")[0]
rows = by_class(root, "text", "lane")
check("busy: at most 48 rows", len(rows) <= 48 and run.get("data-rows") == str(len(rows)), str(len(rows)))
check("busy: rows name their lanes", rows[0].text.startswith("lanes 1-"), rows[0].text)
check("busy: peak is the lane count", run.get("data-peak") == run.get("data-lanes"))
check("busy: under 1 MB", size < 1 << 20, str(size))
check("busy: fewer bars than operations", len(by_class(root, "rect", "bar")) < 6000)

# 300 operations at once: 300 lanes in rows of 7
root, _ = svg_of("wide", "".join(op_line("work.run", "", 0, 100) for _ in range(300)))
rows = [t.text for t in by_class(root, "text", "lane")]
check("wide: 43 rows of 7 lanes", len(rows) == 43 and rows[0] == "lanes 1-7" and rows[-1] == "lanes 295-300",
      str(rows[:2] + rows[-1:]))

# ---- errors ----------------------------------------------------------------------------------

OP = '"op":"fs.read","subject":"a"'
bad_lines = [  # (line, column or None, message)
    ('{"label": "a", "time_ms": 0, "phase": "main"}', 1, 'a label line without "macrotask"'),
    ('{' + OP + ',}', 31, "expected a string"),
    ('{"op":"fs.read","subject":"\\x","start_ms":0,"end_ms":1,"result":0}', 29, "invalid escape \\x"),
    ('{"op":"fs.read","subject":"\\udc00","start_ms":0,"end_ms":1,"result":0}', None, "lone low surrogate \\udc00"),
    ('{"op":"fs.read","subject":"\\ud800x","start_ms":0,"end_ms":1,"result":0}', None,
     "high surrogate \\ud800 not followed by a low one"),
    ('{' + OP + ',"start_ms":5,"end_ms":1,"result":0}', None, "end_ms (1) is before start_ms (5)"),
    ('{' + OP + ',"start_ms":0,"end_ms":1,"result":0,"x":{}}', None, 'unknown key "x" with a nested value'),
    ('{"op":"fs.read","op":"a"}', 22, 'duplicate key "op"'),
    ('{' + OP + ',"start_ms":0,"end_ms":1,"result":0} x', None, "text after the object"),
    ('["a"]', 1, "expected '{' (each line is one JSON object)"),
    ('{' + OP + ',"start_ms":01,"end_ms":1,"result":0}', None, "expected ',' or '}'"),
    ('{' + OP + ',"start_ms":0,"end_ms":1,"result":0.5}', None, "result is not an integer"),
    ('{' + OP + ',"start_ms":-1,"end_ms":1,"result":0}', None, "start_ms is negative"),
    ('{"label":"a","time_ms":0,"phase":"main","macrotask":1,"op":"x"}', 1,
     "a line has the keys of one kind of line only (label, op or run)"),
    ('{"x":1}', 1, 'neither a label line ("label", "time_ms", "phase", "macrotask") nor an op line ("op", '
                       '"subject", "start_ms", "end_ms", "result") nor a run line ("run")'),
    ('{"label":"a\\u0000","time_ms":0,"phase":"main","macrotask":1}', None, "\\u0000 in a string"),
    ('{"label":"a","time_ms":1e999,"phase":"main","macrotask":1}', 24, "number out of range"),
    ('{"label":"a","time_ms":0,"phase":"main","macrotask":1.5}', None, "macrotask is not a count"),
    ('{"label":"a\tb","time_ms":0,"phase":"main","macrotask":1}', 12,
     "control character 0x09 in a string (must be escaped)"),
    ('{"label":"abc', 14, "unterminated string"),
    ('{}', None, "empty object"),
]
for i, (text, column, message) in enumerate(bad_lines):
    # the bad line comes third, after a good one and a blank one
    path = write(f"bad{i}.jsonl", '{"label":"ok","time_ms":0,"phase":"main","macrotask":1}\n\n' + text + "\n")
    r = cwtrace("--chrome", os.path.join(work, "never.json"), path)
    where = f"cwtrace: {path}:3:" + (f"{column}: " if column else "")
    check(f"bad line {i}: status 1", r.returncode == 1, str(r.returncode))
    check(f"bad line {i}: message", r.stderr.startswith(where) and r.stderr.rstrip().endswith(message),
          f"{r.stderr!r} is not {where}...{message}")
    check(f"bad line {i}: no output left", not os.path.exists(os.path.join(work, "never.json")))

empty = write("empty.jsonl", "\n")
for args, status, message in [
    ([], 2, "cwtrace: no trace file given\nusage: cwtrace"),
    ([empty], 2, "cwtrace: nothing to write: give --chrome, --svg or both"),
    (["--svg", "x.svg", "a", "b"], 2, "cwtrace: one trace file only"),
    (["--bogus", empty], 2, "unrecognized option '--bogus'"),
    (["--svg", os.path.join(work, "x.svg"), empty], 1, f"cwtrace: {empty} holds no labels and no operations"),
    (["--svg", os.path.join(work, "x.svg"), os.path.join(work, "missing.jsonl")], 1,
     f"cwtrace: cannot read {work}/missing.jsonl: No such file or directory"),
    (["--svg", "/nonexistent/x.svg", os.path.join(GOLDEN, "basic.jsonl")], 1,
     "cwtrace: cannot write /nonexistent/x.svg: No such file or directory"),
]:
    r = cwtrace(*args)
    check(f"cwtrace {' '.join(args)}: status {status}", r.returncode == status, str(r.returncode))
    check(f"cwtrace {' '.join(args)}: message", message in r.stderr, repr(r.stderr))

r = cwtrace("--help")
check("--help", r.returncode == 0 and r.stdout.startswith("usage: cwtrace"))

print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
