#!/usr/bin/env node
// Writes lib/wire/protocol.generated.ts from native/core/protocol.h, the one
// source of the wire format: its constants, its enums (Op from the op
// table) and each op's kind and request layout.  With --check it writes
// nothing and fails (exit 1, saying what differs) when the committed file
// is not what protocol.h makes, so `npm run lint` holds the two together.
// It also fails when protocol.h defines a constant or an enum member that
// its export lists (UNSHARE_FS_CONSTANTS, UNSHARE_FS_ENUMS) leave out: the
// addon exports those lists, and test/protocol.test.ts compares the addon's
// table with the generated one.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
/** `--header FILE`, `--output FILE`: other paths than the repository's (for tests). */
function option(name, fallback) {
  const at = process.argv.indexOf(name);
  return at > 0 && process.argv[at + 1] ? path.resolve(process.argv[at + 1]) : fallback;
}
const HEADER = option('--header', path.join(root, 'native/core/protocol.h'));
const OUTPUT = option('--output', path.join(root, 'lib/wire/protocol.generated.ts'));

const FIELD_TYPES = ['u32', 'u64', 'i64', 'str', 'strs', 'path', 'bytes'];
const BIGINT_TYPES = new Set(['uint64_t', 'int64_t']);

class ProtocolError extends Error {}

/** A macro's body: its lines joined, continuations and comments gone. */
function macroBody(source, name) {
  const start = source.indexOf(`#define ${name}(`);
  if (start < 0) throw new ProtocolError(`protocol.h has no macro ${name}`);
  const lines = [];
  for (const line of source.slice(start).split('\n')) {
    lines.push(line.replace(/\\$/, '').replace(/\/\*.*?\*\//g, ''));
    if (!line.endsWith('\\')) break;
  }
  return lines.join(' ').slice(`#define ${name}(`.length);
}

/** The comment lines right above line `at`, and the one at its end. */
function docOf(lines, at) {
  const doc = [];
  for (let i = at - 1; i >= 0 && /^\s*\/\//.test(lines[i]); i--) doc.unshift(lines[i].replace(/^\s*\/\/\s?/, ''));
  const trailing = /\/\/\s?(.*)$/.exec(lines[at]);
  if (trailing) doc.push(trailing[1]);
  return doc;
}

/** Evaluates a C++ constant expression of literals and earlier constants, as a BigInt. */
function evaluate(expression, known) {
  const js = expression
    .replace(/\bUINT32_MAX\b/g, '0xffffffff')
    .replace(/\bUINT64_MAX\b/g, '0xffffffffffffffff')
    .replace(/\b(0x[0-9a-fA-F]+|\d+)[uUlL]*\b/g, '$1n')
    .replace(/\bk\w+\b/g, (name) => {
      if (!known.has(name)) throw new ProtocolError(`protocol.h: ${name} is used before it is defined`);
      return `${known.get(name)}n`;
    });
  if (!/^[\s\dxa-fA-Fn+\-*/()<>|&~]*$/.test(js)) throw new ProtocolError(`protocol.h: cannot evaluate ${expression}`);
  return Function(`"use strict"; return (${js});`)();
}

function parse(source) {
  const lines = source.split('\n');
  const known = new Map();
  const constants = [];
  const enums = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    let m = /^constexpr (\w+) (k\w+)(\[\])? = (.*);/.exec(line.replace(/\s*\/\/.*$/, ''));
    if (m) {
      const [, type, name, array, expression] = m;
      const doc = docOf(lines, i);
      if (array) {
        const values = expression.replace(/^\{|\}$/g, '').split(',').map((v) => Number(evaluate(v.trim(), known)));
        constants.push({ name, type, value: values, doc });
      } else {
        const value = evaluate(expression, known);
        known.set(name, value);
        constants.push({ name, type, value: BIGINT_TYPES.has(type) ? value : Number(value), doc });
      }
      continue;
    }
    m = /^enum (class )?(\w+) : (\w+) \{/.exec(line);
    if (m && m[2] !== 'Op') {
      const doc = docOf(lines, i);
      const members = [];
      for (i++; !/^};/.test(lines[i]); i++) {
        const member = /^\s*(k\w+) = ([^,]+),/.exec(lines[i].replace(/\s*\/\/.*$/, ''));
        if (!member) continue;
        const value = Number(evaluate(member[2], known));
        if (!m[1]) known.set(member[1], BigInt(value));
        members.push({ name: member[1], value, doc: docOf(lines, i) });
      }
      enums.push({ name: m[2], scoped: Boolean(m[1]), members, doc });
    }
  }
  const ops = [];
  const table = macroBody(source, 'UNSHARE_FS_OPS');
  for (const m of table.matchAll(/X\((\w+),\s*(\d+),\s*k(\w+),\s*((?:F\(\w+,\s*\w+\)\s*)*)\)/g)) {
    const fields = [...m[4].matchAll(/F\((\w+),\s*(\w+)\)/g)].map((f) => [f[1], f[2]]);
    for (const [type, name] of fields) {
      if (!FIELD_TYPES.includes(type)) throw new ProtocolError(`protocol.h: ${m[1]}'s field ${name} has no type ${type}`);
    }
    ops.push({ name: m[1], op: Number(m[2]), kind: m[3][0].toLowerCase() + m[3].slice(1), fields });
  }
  if (ops.length === 0) throw new ProtocolError('protocol.h: the op table is empty');
  const exportedConstants = [...macroBody(source, 'UNSHARE_FS_CONSTANTS').matchAll(/C\((\w+)\)/g)].map((m) => m[1]);
  const exportedMembers = [...macroBody(source, 'UNSHARE_FS_ENUMS').matchAll(/E\((\w+),\s*(\w+)\)/g)].map((m) => `${m[1]}::${m[2]}`);
  const problems = [];
  const listed = (list, all, what) => {
    for (const name of all) if (!list.includes(name)) problems.push(`${name} is not in ${what}`);
    for (const name of list) if (!all.includes(name)) problems.push(`${name} is in ${what} but not defined`);
  };
  listed(exportedConstants, constants.map((c) => c.name), 'UNSHARE_FS_CONSTANTS');
  listed(exportedMembers, enums.flatMap((e) => e.members.map((m) => `${e.name}::${m.name}`)), 'UNSHARE_FS_ENUMS');
  if (problems.length > 0) throw new ProtocolError(`protocol.h: ${problems.join('; ')}`);
  return { constants, enums, ops };
}

/** kMaxRequest -> MAX_REQUEST */
const screaming = (name) => name.slice(1).replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();

/** kTreeRecursive of TreeFlag -> Recursive; kMode of StatField -> Mode. */
function memberNames(e) {
  const names = e.members.map((m) => m.name.slice(1));
  const word = /^[A-Z][a-z0-9]*/.exec(e.name)[0];
  const strip = names.every((n) => n.startsWith(word) && /^[A-Z]/.test(n.slice(word.length)));
  return names.map((n) => (strip ? n.slice(word.length) : n));
}

function jsdoc(doc, indent = '') {
  if (doc.length === 0) return '';
  const text = doc.join(' ').replace(/\*\//g, '* /').replace(/\s+/g, ' ').trim();
  return `${indent}/** ${text} */\n`;
}

const literal = (value) => (typeof value === 'bigint' ? `0x${value.toString(16)}n` : Array.isArray(value) ? `[${value.join(', ')}]` : String(value));

function render({ constants, enums, ops }) {
  let out = '';
  out += '// Generated by scripts/gen-protocol.js from native/core/protocol.h: do not\n';
  out += '// edit.  `npm run lint:protocol` fails when this file is stale, and\n';
  out += "// test/protocol.test.ts compares PROTOCOL_TABLE with the addon's.\n\n";
  for (const c of constants) {
    out += jsdoc(c.doc);
    out += `export const ${screaming(c.name)} = ${literal(c.value)}${Array.isArray(c.value) ? ' as const' : ''};\n`;
  }
  out += '\n';
  out += '/** The request ops (protocol.h\'s op table). */\n';
  out += 'export const enum Op {\n';
  for (const op of ops) out += `  ${op.name} = ${op.op},\n`;
  out += '}\n';
  for (const e of enums) {
    out += '\n' + jsdoc(e.doc);
    out += `export const enum ${e.name} {\n`;
    const names = memberNames(e);
    e.members.forEach((m, i) => {
      out += jsdoc(m.doc, '  ');
      out += `  ${names[i]} = ${m.value},\n`;
    });
    out += '}\n';
  }
  out += '\n/** How a request field is encoded: u32, u64, i64 little endian; str a u32 length and bytes; strs a u32 count and that many str; path and bytes the rest of the frame. */\n';
  out += `export type FieldType = ${FIELD_TYPES.map((t) => `'${t}'`).join(' | ')};\n`;
  out += '/** An op as the server sees it: its number, how it is run, its request fields in order. */\n';
  out += 'export interface OpLayout {\n';
  out += '  readonly op: number;\n';
  out += "  readonly kind: 'quick' | 'single' | 'stream' | 'control';\n";
  out += '  readonly fields: readonly (readonly [FieldType, string])[];\n';
  out += '}\n\n';
  out += '/** Every op: its number, kind and request layout. */\n';
  out += 'export const OPS = {\n';
  for (const op of ops) {
    const fields = op.fields.map(([type, name]) => `['${type}', '${name}']`).join(', ');
    out += `  ${op.name}: { op: ${op.op}, kind: '${op.kind}', fields: [${fields}] },\n`;
  }
  out += '} as const satisfies Record<string, OpLayout>;\n\n';
  out += "/** Everything above with protocol.h's own names, as the addon exports it (`protocolTable`). */\n";
  out += 'export const PROTOCOL_TABLE = {\n';
  out += '  constants: {\n';
  for (const c of constants) out += `    ${c.name}: ${literal(c.value)},\n`;
  out += '  },\n';
  out += '  enums: {\n';
  for (const e of enums) {
    out += `    ${e.name}: { ${e.members.map((m) => `${m.name}: ${m.value}`).join(', ')} },\n`;
  }
  out += '  },\n';
  out += '  ops: OPS,\n';
  out += '};\n';
  return out;
}

/** The first lines where `want` and `have` differ, as a short report. */
function differences(want, have) {
  const a = want.split('\n');
  const b = have.split('\n');
  const report = [];
  for (let i = 0; i < Math.max(a.length, b.length) && report.length < 20; i++) {
    if (a[i] !== b[i]) report.push(`  line ${i + 1}:\n    protocol.h makes: ${a[i] ?? '(nothing)'}\n    the file has:     ${b[i] ?? '(nothing)'}`);
  }
  return report.join('\n');
}

function main() {
  const check = process.argv.includes('--check');
  let generated;
  try {
    generated = render(parse(fs.readFileSync(HEADER, 'utf8')));
  } catch (error) {
    if (!(error instanceof ProtocolError)) throw error;
    process.stderr.write(`gen-protocol: ${error.message}\n`);
    process.exit(1);
  }
  const relative = path.relative(root, OUTPUT);
  if (!check) {
    fs.mkdirSync(path.dirname(OUTPUT), { recursive: true });
    fs.writeFileSync(OUTPUT, generated);
    process.stdout.write(`gen-protocol: wrote ${relative}\n`);
    return;
  }
  const current = fs.existsSync(OUTPUT) ? fs.readFileSync(OUTPUT, 'utf8') : '';
  if (current !== generated) {
    process.stderr.write(`gen-protocol: ${relative} is stale (native/core/protocol.h changed, or the file was edited); run \`node scripts/gen-protocol.js\`.\n${differences(generated, current)}\n`);
    process.exit(1);
  }
  process.stdout.write(`gen-protocol: ${relative} is up to date\n`);
}

if (require.main === module) main();

module.exports = { parse, render };
