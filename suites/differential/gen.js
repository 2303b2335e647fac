'use strict';
// Random scheduling programs for the differential test of the core against
// Node 20: `node gen.js SEED [json|js|flat]` prints program SEED as its JSON
// tree (default), as a Node script, or in the flat form that run.c reads.
//
// A program is a tree of statements:
//   log; nextTick{body}; queueMicrotask{body}; setTimeout(ms){body};
//   setInterval(ms, count){body} (cleared from inside after count runs);
//   setImmediate{body}; clear of a named timer; and promise chains: a source
//   (resolved value, rejected code, a pending promise settled later from a
//   timeout, immediate, tick or microtask callback, a named promise, or
//   all/allSettled/race/any over such sources) then then/catch/finally links
//   whose handlers return a value, throw a code or return a named promise.
// Every chain ends with a catch that returns a value, so every rejection is
// handled and no run stops early.
//
// Node runs on the real clock, so only what Node orders the same way on
// every run is generated. Each callback has a nominal time (the sum of the
// delays that led to it), a phase (main, timers, check) and a macrotask (the
// timer, immediate or main script it runs in, drains included). The rules:
//  1. Delays are multiples of 25 ms and every deadline is at most 250 ms, so
//     two timers either share a deadline or are 25 ms apart: a few ms of
//     lateness under load never swaps them.
//  2. Timers sharing a deadline must come from the same macrotask, hence
//     with the same delay: they sit in one of Node's per-duration lists, in
//     creation order. Two macrotasks at the same nominal time (the main script
//     and an immediate it scheduled) run a few ms apart, so their timers race.
//  3. Such a shared list can still split: its timers get their start time
//     from the clock one by one, and a millisecond boundary crossed between
//     two creations makes the second one due one turn later, after the check
//     phase. So no setImmediate is created in the timers phase at a deadline
//     that two timers share.
//  4. An interval's start moves with each run's lateness, which adds up:
//     it owns every grid point from its creation to one period after its
//     last run. Its body runs at several times, so it creates no immediate
//     and no clear, and only timeouts of the interval's own period from the
//     run's own macrotask (callback or drain): those join the list of the
//     next run, where Node re-arms the interval right after its callback,
//     before the queues drain.
//  5. A timer is cleared only where it has surely not fired yet or surely
//     fired: a timeout or interval at another nominal time than its own (or
//     a timeout from inside its own run), an immediate from the macrotask
//     that created it or from a later nominal time.
//  6. setImmediate against setTimeout(0) from the main script or from an
//     immediate races in Node; delays are never below 25 ms, and immediates
//     always run at their creator's nominal time, before any timer of it.
//  7. Promise handlers run at the nominal time and macrotask in which their
//     input settled. When that is not known exactly (a race between inputs
//     settling at one time in different macrotasks, a handler that may or
//     may not adopt a later promise), the handler body is "loose": it
//     creates nothing that depends on time (no timer, immediate or clear).

const GRID = 25;
const MAX_DEADLINE = 250;
const MAX_DEPTH = 4;
// A time not known exactly; an interval run's `when` is loose too, but has
// its macrotask (mt) and period (intervalMs).
const LOOSE = { loose: true };

function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function sameWhen(a, b) {
  return a.loose === b.loose && a.mt === b.mt && (a.loose || a.t === b.t);
}

function generate(seed) {
  const rand = mulberry32(seed);
  const int = (lo, hi) => lo + Math.floor(rand() * (hi - lo + 1));
  const pick = (xs) => xs[Math.floor(rand() * xs.length)];
  const chance = (p) => rand() < p;
  const shuffled = (xs) => xs.map((x) => [rand(), x]).sort((a, b) => a[0] - b[0]).map((p) => p[1]);

  let lastId = 0;
  let lastMacrotask = 0;
  let budget = int(8, 45);
  const newId = () => ++lastId;
  const macrotask = (t, phase) => ({ t, phase, mt: ++lastMacrotask });
  // deadline -> { mt, size, exclusive }: who may still add a timer there (rules 2, 4)
  const slots = new Map();
  // nominal times at which an immediate is created in the timers phase (rule 3)
  const immediatesInTimers = new Set();

  // The later of two settlements (a handler adopting a promise, a resolve with one).
  function later(a, b) {
    if (a.loose || b.loose) return sameWhen(a, b) ? a : LOOSE;
    if (a.t !== b.t) return a.t > b.t ? a : b;
    return a.mt === b.mt ? a : macrotask(a.t, 'unknown');
  }
  // The first (or last) of several settlements: exact unless tied across macrotasks.
  function extreme(whens, last) {
    if (whens.some((w) => w.loose)) return whens.every((w) => sameWhen(w, whens[0])) ? whens[0] : LOOSE;
    const t = last ? Math.max(...whens.map((w) => w.t)) : Math.min(...whens.map((w) => w.t));
    const at = whens.filter((w) => w.t === t);
    return at.every((w) => w.mt === at[0].mt) ? at[0] : macrotask(t, 'unknown');
  }
  function combined(kind, inputs) {
    const whens = (xs) => xs.map((x) => x.when);
    const ok = inputs.filter((x) => x.outcome === 'ok');
    const err = inputs.filter((x) => x.outcome === 'err');
    switch (kind) {
      case 'all':
        return err.length ? { when: extreme(whens(err), false), outcome: 'err' }
          : { when: extreme(whens(inputs), true), outcome: 'ok' };
      case 'allSettled':
        return { when: extreme(whens(inputs), true), outcome: 'ok' };
      case 'any':
        return ok.length ? { when: extreme(whens(ok), false), outcome: 'ok' }
          : { when: extreme(whens(inputs), true), outcome: 'err' };
      default: { // race
        const when = extreme(whens(inputs), false);
        const first = when.loose ? inputs : inputs.filter((x) => x.when.t === when.t);
        const same = first.every((x) => x.outcome === first[0].outcome);
        return { when, outcome: same ? first[0].outcome : '?' };
      }
    }
  }
  // Either of two possible settlements of a link.
  function either(a, b) {
    return {
      when: sameWhen(a.when, b.when) ? a.when : LOOSE,
      outcome: a.outcome === b.outcome ? a.outcome : '?',
    };
  }

  function reserveTimeout(when, ms) {
    const deadline = when.t + ms;
    if (deadline > MAX_DEADLINE) return false;
    const slot = slots.get(deadline);
    if (!slot) {
      slots.set(deadline, { mt: when.mt, size: 1 });
      return true;
    }
    if (slot.exclusive || slot.mt !== when.mt || immediatesInTimers.has(deadline)) return false;
    slot.size++;
    return true;
  }
  function reserveImmediate(when) {
    if (when.phase !== 'timers' && when.phase !== 'unknown') return true;
    const slot = slots.get(when.t);
    if (slot && slot.size > 1) return false;
    immediatesInTimers.add(when.t);
    return true;
  }
  // A free delay for a timeout created at `when`, or 0.
  function timeoutDelay(when) {
    for (const ms of shuffled([1, 2, 3, 4].map((k) => k * GRID)))
      if (reserveTimeout(when, ms)) return ms;
    return 0;
  }
  function clearable(when, timer) {
    switch (timer.kind) {
      case 'timeout': return when.t !== timer.deadline || when.mt === timer.run;
      case 'interval': return !timer.deadlines.includes(when.t);
      default: return when.mt === timer.mt || when.t > timer.t;
    }
  }

  // ctx: { when, multi (runs more than once: names are not referable), depth, P, T }
  // P: referable promises { id, when, outcome }; T: clearable timers.
  const timed = (ctx) => !ctx.when.loose && !ctx.multi;
  const child = (ctx, when, extra) => ({ ...ctx, when, depth: ctx.depth + 1, ...extra });

  function body(ctx, lo, hi) {
    const stmts = [];
    const scope = { ...ctx, P: [...ctx.P], T: [...ctx.T] };
    for (let n = int(lo, hi); n > 0 && budget > 0; n--) stmts.push(statement(scope));
    return stmts;
  }

  function statement(ctx) {
    budget--;
    const id = newId();
    const choices = ['log', 'chain', 'chain', 'chain'];
    if (ctx.depth < MAX_DEPTH) {
      choices.push('tick', 'micro');
      if (timed(ctx)) choices.push('timeout', 'timeout', 'immediate', 'interval');
      if (ctx.when.intervalMs) choices.push('timeout');
    }
    if (timed(ctx) && ctx.T.some((t) => clearable(ctx.when, t))) choices.push('clear');
    const w = ctx.when;
    switch (pick(choices)) {
      case 'tick':
      case 'micro': {
        const op = chance(0.5) ? 'tick' : 'micro';
        return { op, id, body: body(child(ctx, w), 1, 3) };
      }
      case 'timeout': {
        if (w.intervalMs) return { op: 'timeout', id, ms: w.intervalMs, body: body(child(ctx, LOOSE), 1, 2) };
        const ms = timeoutDelay(w);
        if (!ms) break;
        const run = macrotask(w.t + ms, 'timers');
        const timer = { id, kind: 'timeout', deadline: w.t + ms, run: run.mt };
        const node = { op: 'timeout', id, ms, body: body(child(ctx, run, { T: [...ctx.T, timer] }), 1, 4) };
        ctx.T.push(timer);
        return node;
      }
      case 'interval': {
        const ms = pick([GRID, 2 * GRID]);
        const count = int(2, 3);
        const deadlines = Array.from({ length: count }, (_, i) => w.t + (i + 1) * ms);
        const owned = Array.from({ length: (count + 1) * ms / GRID }, (_, i) => w.t + (i + 1) * GRID);
        if (owned[owned.length - 1] > MAX_DEADLINE || owned.some((d) => slots.has(d))) break;
        for (const d of owned) slots.set(d, { exclusive: true, size: 1 });
        const run = { loose: true, mt: ++lastMacrotask, intervalMs: ms };
        const node = { op: 'interval', id, ms, count, body: body(child(ctx, run, { multi: true }), 0, 3) };
        ctx.T.push({ id, kind: 'interval', deadlines });
        return node;
      }
      case 'immediate': {
        if (!reserveImmediate(w)) break;
        const node = { op: 'immediate', id, body: body(child(ctx, macrotask(w.t, 'check')), 1, 4) };
        ctx.T.push({ id, kind: 'immediate', t: w.t, mt: w.mt });
        return node;
      }
      case 'clear': {
        const timer = pick(ctx.T.filter((t) => clearable(w, t)));
        return { op: 'clear', id: timer.id, kind: timer.kind };
      }
      case 'chain':
        return chain(ctx);
    }
    return { op: 'log', label: 'a' + id };
  }

  const value = () => int(1, 99);
  const code = () => -int(101, 199);

  // A simple source: { node, when, outcome }.
  function simpleSource(ctx) {
    const id = newId();
    const kinds = ['value', 'reject', 'pending', 'pending'];
    const kind = pick(kinds);
    if (kind === 'value') return { node: { kind, id, v: value() }, when: ctx.when, outcome: 'ok' };
    if (kind === 'reject') return { node: { kind, id, code: code() }, when: ctx.when, outcome: 'err' };
    const vias = ['tick', 'micro'];
    if (timed(ctx)) vias.push('timeout', 'immediate');
    let via = pick(vias);
    let ms = 0;
    let when = ctx.when;
    if (via === 'timeout') {
      ms = timeoutDelay(ctx.when);
      when = ms ? macrotask(ctx.when.t + ms, 'timers') : ctx.when;
      if (!ms) via = 'tick';
    } else if (via === 'immediate') {
      if (reserveImmediate(ctx.when)) when = macrotask(ctx.when.t, 'check');
      else via = 'tick';
    }
    const node = { kind, id, via, ms, body: ctx.depth < MAX_DEPTH ? body(child(ctx, when), 0, 2) : [] };
    const settled = settle(ctx, when, false);
    node.settle = settled.settle;
    return { node, when: settled.when, outcome: settled.outcome };
  }

  // How a resolver or a handler running at `when` ends: { settle, when, outcome }.
  function settle(ctx, when, final) {
    const r = rand();
    if (final || r < 0.55 || (r >= 0.8 && !ctx.P.length)) return { settle: { ok: value() }, when, outcome: 'ok' };
    if (r < 0.8) return { settle: { err: code() }, when, outcome: 'err' };
    const p = pick(ctx.P);
    return { settle: { adopt: p.id }, when: later(when, p.when), outcome: p.outcome };
  }

  function source(ctx) {
    const r = rand();
    if (r < 0.15 && ctx.P.length) {
      const p = pick(ctx.P);
      return { node: { kind: 'ref', id: p.id }, when: p.when, outcome: p.outcome, ref: true };
    }
    if (r < 0.4) {
      const kind = pick(['all', 'allSettled', 'race', 'any']);
      const inputs = Array.from({ length: int(1, 3) }, () => simpleSource(ctx));
      return { node: { kind, id: newId(), inputs: inputs.map((x) => x.node) }, ...combined(kind, inputs) };
    }
    return simpleSource(ctx);
  }

  function handler(ctx, when, final) {
    const id = newId();
    const hctx = child(ctx, when);
    const stmts = ctx.depth < MAX_DEPTH ? body(hctx, 0, 2) : [];
    const s = settle(ctx, when, final);
    return { h: { id, body: stmts, settle: s.settle }, result: { when: s.when, outcome: s.outcome } };
  }

  function chain(ctx) {
    const src = source(ctx);
    let input = { when: src.when, outcome: src.outcome };
    const links = [];
    const named = src.ref ? [] : [{ id: src.node.id, ...input }];
    for (let n = int(0, 3); n >= 0; n--) {
      const final = n === 0;
      const kind = final ? 'catch' : pick(['then', 'then', 'catch', 'finally']);
      const id = newId();
      let result;
      if (kind === 'finally') {
        links.push({ kind, id, body: ctx.depth < MAX_DEPTH ? body(child(ctx, input.when), 0, 2) : [] });
        result = input;
      } else if (kind === 'then') {
        const ok = handler(ctx, input.when, false);
        const err = chance(0.5) ? handler(ctx, input.when, false) : null;
        const onErr = err ? err.result : input;
        links.push({ kind, id, ok: ok.h, err: err && err.h });
        result = input.outcome === 'ok' ? ok.result : input.outcome === 'err' ? onErr : either(ok.result, onErr);
      } else {
        const err = handler(ctx, input.when, final);
        links.push({ kind, id, err: err.h });
        result = input.outcome === 'err' ? err.result : input.outcome === 'ok' ? input : either(input, err.result);
      }
      named.push({ id, ...result });
      input = result;
    }
    if (!ctx.multi) ctx.P.push(...named);
    return { op: 'chain', source: src.node, links };
  }

  const main = macrotask(0, 'main');
  return { seed, main: body({ when: main, multi: false, depth: 0, P: [], T: [] }, 2, 6) };
}

// ---- the program as a Node script ------------------------------------------

const JS_PRELUDE = `'use strict';
const out = [], P = [], T = [];
const log = (line) => out.push(line);
process.on('exit', () => process.stdout.write(out.map((l) => l + '\\n').join('')));
const code = (e) => (e instanceof AggregateError ? -7001 : e);
const show = (x) => (Array.isArray(x) ? '[' + x.map(item).join(',') + ']' : String(x));
const item = (e) => (Array.isArray(e) || typeof e !== 'object' ? show(e)
  : e.status === 'fulfilled' ? 'ok:' + show(e.value) : 'err:' + code(e.reason));
`;

const CLEAR_FN = { timeout: 'clearTimeout', interval: 'clearInterval', immediate: 'clearImmediate' };

function toJs(program) {
  const lines = [];
  const emit = (depth, text) => lines.push('  '.repeat(depth) + text);
  const block = (depth, first, stmts) => {
    if (first) emit(depth, first);
    stmts.forEach((s) => statement(depth, s));
  };
  const ending = (s) => ('ok' in s ? `return ${s.ok};` : 'err' in s ? `throw ${s.err};` : `return P[${s.adopt}];`);
  const resolving = (s) => ('ok' in s ? `res(${s.ok});` : 'err' in s ? `rej(${s.err});` : `res(P[${s.adopt}]);`);

  function source(depth, s) {
    switch (s.kind) {
      case 'value': return `Promise.resolve(${s.v})`;
      case 'reject': return `Promise.reject(${s.code})`;
      case 'ref': return `P[${s.id}]`;
      case 'pending': {
        const inner = [];
        const saved = lines.length;
        block(depth + 2, `log('r${s.id}');`, s.body);
        inner.push(...lines.splice(saved));
        inner.push('  '.repeat(depth + 2) + resolving(s.settle));
        const open = { timeout: 'setTimeout(() => {', immediate: 'setImmediate(() => {',
          tick: 'process.nextTick(() => {', micro: 'queueMicrotask(() => {' }[s.via];
        const close = s.via === 'timeout' ? `}, ${s.ms})` : '})';
        return `new Promise((res, rej) => ${open}\n${inner.join('\n')}\n${'  '.repeat(depth + 1)}${close})`;
      }
      default:
        return `Promise.${s.kind}([${s.inputs.map((x) => source(depth + 1, x)).join(', ')}])`;
    }
  }
  function handlerFn(depth, h, param, first) {
    const saved = lines.length;
    block(depth + 1, first, h.body);
    emit(depth + 1, ending(h.settle));
    const inner = lines.splice(saved);
    return `(${param}) => {\n${inner.join('\n')}\n${'  '.repeat(depth)}}`;
  }
  function statement(depth, s) {
    switch (s.op) {
      case 'log': return emit(depth, `log('${s.label}');`);
      case 'tick':
      case 'micro':
        emit(depth, s.op === 'tick' ? 'process.nextTick(() => {' : 'queueMicrotask(() => {');
        block(depth + 1, `log('${s.op === 'tick' ? 'k' : 'm'}${s.id}');`, s.body);
        return emit(depth, '});');
      case 'timeout':
        emit(depth, `T[${s.id}] = setTimeout(() => {`);
        block(depth + 1, `log('t${s.id}');`, s.body);
        return emit(depth, `}, ${s.ms});`);
      case 'immediate':
        emit(depth, `T[${s.id}] = setImmediate(() => {`);
        block(depth + 1, `log('i${s.id}');`, s.body);
        return emit(depth, '});');
      case 'interval':
        emit(depth, `{ let n = 0; T[${s.id}] = setInterval(() => {`);
        block(depth + 1, `log('v${s.id} ' + ++n);`, s.body);
        emit(depth + 1, `if (n === ${s.count}) clearInterval(T[${s.id}]);`);
        return emit(depth, `}, ${s.ms}); }`);
      case 'clear': return emit(depth, `${CLEAR_FN[s.kind]}(T[${s.id}]);`);
      default: { // chain
        let prev = `P[${s.source.id}]`;
        if (s.source.kind !== 'ref') emit(depth, `P[${s.source.id}] = ${source(depth, s.source)};`);
        for (const l of s.links) {
          let call;
          if (l.kind === 'finally') {
            const saved = lines.length;
            block(depth + 1, `log('f${l.id}');`, l.body);
            call = `finally(() => {\n${lines.splice(saved).join('\n')}\n${'  '.repeat(depth)}})`;
          } else if (l.kind === 'then') {
            const ok = handlerFn(depth, l.ok, 'x', `log('h${l.ok.id} ' + show(x));`);
            const err = l.err ? ', ' + handlerFn(depth, l.err, 'e', `log('h${l.err.id} err ' + code(e));`) : '';
            call = `then(${ok}${err})`;
          } else {
            call = `catch(${handlerFn(depth, l.err, 'e', `log('h${l.err.id} err ' + code(e));`)})`;
          }
          emit(depth, `P[${l.id}] = ${prev}.${call};`);
          prev = `P[${l.id}]`;
        }
      }
    }
  }
  block(0, null, program.main);
  return `// differential program, seed ${program.seed}\n${JS_PRELUDE}${lines.join('\n')}\n`;
}

// ---- the program in the flat form read by run.c ----------------------------
// Whitespace-separated tokens; a body is `{ statement... }`:
//   log LABEL | tick ID body | micro ID body | timeout ID MS body
//   | interval ID MS COUNT body | immediate ID body | clear ID
//   | chain SOURCE LINK... end
// SOURCE: value ID V | reject ID CODE | ref ID | pending ID VIA MS SETTLE body
//   | all|settled|race|any ID N SOURCE...     (VIA: timeout immediate tick micro)
// LINK: then ID HANDLER (HANDLER | -) | catch ID HANDLER | finally ID body
// HANDLER: ID SETTLE body;  SETTLE: ok V | err CODE | adopt ID

const FLAT_COMBINATOR = { all: 'all', allSettled: 'settled', race: 'race', any: 'any' };

function toFlat(program) {
  const out = [];
  const settleTokens = (s) => ('ok' in s ? ['ok', s.ok] : 'err' in s ? ['err', s.err] : ['adopt', s.adopt]);
  const body = (stmts) => {
    out.push('{');
    stmts.forEach(statement);
    out.push('}');
  };
  function source(s) {
    switch (s.kind) {
      case 'value': return out.push('value', s.id, s.v);
      case 'reject': return out.push('reject', s.id, s.code);
      case 'ref': return out.push('ref', s.id);
      case 'pending':
        out.push('pending', s.id, s.via, s.ms, ...settleTokens(s.settle));
        return body(s.body);
      default:
        out.push(FLAT_COMBINATOR[s.kind], s.id, s.inputs.length);
        return s.inputs.forEach(source);
    }
  }
  const handler = (h) => {
    out.push(h.id, ...settleTokens(h.settle));
    body(h.body);
  };
  function statement(s) {
    switch (s.op) {
      case 'log': return out.push('log', s.label);
      case 'tick': case 'micro': case 'immediate':
        out.push(s.op, s.id);
        return body(s.body);
      case 'timeout':
        out.push('timeout', s.id, s.ms);
        return body(s.body);
      case 'interval':
        out.push('interval', s.id, s.ms, s.count);
        return body(s.body);
      case 'clear': return out.push('clear', s.id);
      default:
        out.push('chain');
        source(s.source);
        for (const l of s.links) {
          out.push(l.kind, l.id);
          if (l.kind === 'finally') body(l.body);
          else if (l.kind === 'catch') handler(l.err);
          else {
            handler(l.ok);
            if (l.err) handler(l.err);
            else out.push('-');
          }
        }
        out.push('end');
    }
  }
  body(program.main);
  return out.join(' ') + '\n';
}

module.exports = { generate, toJs, toFlat };

if (require.main === module) {
  const [seedArg, form = 'json'] = process.argv.slice(2);
  const seed = Number(seedArg);
  const emitters = { json: (p) => JSON.stringify(p, null, 1) + '\n', js: toJs, flat: toFlat };
  if (!Number.isInteger(seed) || !emitters[form]) {
    process.stderr.write('usage: node gen.js SEED [json|js|flat]\n');
    process.exit(2);
  }
  process.stdout.write(emitters[form](generate(seed)));
}
