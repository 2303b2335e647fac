'use strict';
// The Node side of the differential test: `node run.js PROGRAM.json` runs a
// program written by gen.js (its JSON tree) as a Node script would run it,
// printing one label a line.
const fs = require('fs');
const vm = require('vm');
const { toJs } = require('./gen.js');

if (process.argv.length !== 3) {
  process.stderr.write('usage: node run.js PROGRAM.json\n');
  process.exit(2);
}
const program = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
vm.runInThisContext(toJs(program), { filename: `seed-${program.seed}.js` });
