#!/usr/bin/env node
// Checks lib/'s import graph: each folder is one layer and imports only
// from layers below it (or from its own folder), and no module imports
// itself through a cycle.  Type-only imports count: a circle of types is
// still a circle for whoever reads the code.  Run by `npm run lint`.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const LIB = path.resolve(process.argv[2] ?? path.join(__dirname, '..', 'lib'));
// Bottom first.  Folders on one line are siblings: neither imports the other.
const LAYERS = [
  ['core'], // values every layer shares: errors, stats, entries, option types and checks
  ['wire'], // the protocol, the addon, the channel, requests and their streams
  ['layers'], // tar, extract, diff, du, copy, export: work built on requests
  ['api'], // the FileSystem facade and the host's
  ['ns'], // sessions: namespaces, ids, mounts, pid files, users
  ['engine'], // what podman and Docker share
  ['podman', 'docker'], // the two engines
  ['.', 'demo'], // the package's entry and the demo
  ['cli'], // the command line: a user of the public API
];
// Folders that may import only the package's entry (lib/index.ts) from
// outside themselves: what they use is the public API, nothing internal.
const PUBLIC_ONLY = new Set(['cli']);
const rank = new Map(LAYERS.flatMap((names, i) => names.map((name) => [name, i])));

function modules(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) return modules(file);
    return entry.name.endsWith('.ts') ? [file] : [];
  });
}

function folderOf(file) {
  const relative = path.relative(LIB, file);
  return relative.includes(path.sep) ? relative.split(path.sep)[0] : '.';
}

function resolve(from, specifier) {
  const base = path.resolve(path.dirname(from), specifier);
  for (const candidate of [`${base}.ts`, path.join(base, 'index.ts')]) {
    if (fs.existsSync(candidate)) return candidate;
  }
  throw new Error(`${path.relative(LIB, from)}: cannot resolve '${specifier}'`);
}

const IMPORT = /(?:^|\n)\s*(?:import|export)\b[^'"]*?from\s*'(\.[^']*)'|require\('(\.[^']*)'\)/g;
const graph = new Map();
const problems = [];
for (const file of modules(LIB)) {
  const text = fs.readFileSync(file, 'utf8');
  const targets = new Set();
  for (const match of text.matchAll(IMPORT)) targets.add(resolve(file, match[1] ?? match[2]));
  graph.set(file, [...targets]);
  const folder = folderOf(file);
  if (!rank.has(folder)) problems.push(`lib/${folder}/ is in no layer (scripts/check-layers.js)`);
  for (const target of targets) {
    const to = folderOf(target);
    if (to === folder) continue;
    if (PUBLIC_ONLY.has(folder) && path.relative(LIB, target) !== 'index.ts') {
      problems.push(`${path.relative(LIB, file)} imports ${path.relative(LIB, target)}: ${folder}/ uses the package entry (index.ts) only`);
      continue;
    }
    if (!(rank.get(to) < rank.get(folder))) {
      problems.push(`${path.relative(LIB, file)} imports ${path.relative(LIB, target)}: ${to}/ is not below ${folder}/`);
    }
  }
}

// Cycles, by depth-first search.
const state = new Map();
const stack = [];
function visit(file) {
  state.set(file, 'open');
  stack.push(file);
  for (const target of graph.get(file)) {
    if (state.get(target) === 'open') {
      const cycle = stack.slice(stack.indexOf(target)).concat(target);
      problems.push(`import cycle: ${cycle.map((f) => path.relative(LIB, f)).join(' -> ')}`);
    } else if (!state.has(target)) visit(target);
  }
  stack.pop();
  state.set(file, 'done');
}
for (const file of graph.keys()) if (!state.has(file)) visit(file);

if (problems.length > 0) {
  for (const problem of [...new Set(problems)]) console.error(problem);
  process.exit(1);
}
console.log(`lib/: ${graph.size} modules in ${LAYERS.flat().length} folders, layered, no import cycle`);
