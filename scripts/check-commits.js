#!/usr/bin/env node
// Checks the commit messages since the project adopted its rule (one
// topic a commit, a subject of at most 72 characters, the detail in a body
// after a blank line): run by `npm run lint` in a git checkout.  Older
// commits are history and stay as they were written.
'use strict';
const { execFileSync } = require('node:child_process');

// The last commit written before the rule.
const SINCE = 'fdae1d9de5c82381e60b1b871d8f0f900c288930';
const MAX_SUBJECT = 72;

function git(args) {
  return execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

let base;
try {
  base = git(['rev-parse', '--verify', '--quiet', `${process.argv[2] ?? SINCE}^{commit}`]).trim();
} catch {
  // No git, not a checkout, or a shallow clone without the base: nothing to check against.
  console.log(`check-commits: commit ${SINCE} is not in this checkout's history; not checked`);
  process.exit(0);
}
const log = git(['log', '--format=%H%x00%B%x01', `${base}..HEAD`]);
const problems = [];
let count = 0;
for (const record of log.split('\x01')) {
  const text = record.replace(/^\n/, '');
  if (!text.trim()) continue;
  count++;
  const [hash, message] = text.split('\0');
  const lines = message.replace(/\n+$/, '').split('\n');
  const subject = lines[0];
  const short = hash.slice(0, 7);
  if (subject.length > MAX_SUBJECT) problems.push(`${short}: subject of ${subject.length} characters (at most ${MAX_SUBJECT}): ${subject}`);
  if (lines.length > 1 && lines[1] !== '') problems.push(`${short}: no blank line between the subject and the body`);
}
if (problems.length > 0) {
  for (const problem of problems) console.error(problem);
  process.exit(1);
}
console.log(`check-commits: ${count} commits since ${base.slice(0, 7)}, subjects of at most ${MAX_SUBJECT} characters`);
