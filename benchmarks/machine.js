'use strict';
// What the results were measured on; ratios are only comparable within one
// machine and one run (syscall cost differs a lot between VMs).

const fs = require('node:fs');
const os = require('node:os');

function cpuModel() {
  try {
    const match = /^model name\s*:\s*(.+)$/m.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'));
    if (match) return match[1].trim();
  } catch {
    // Not Linux, or /proc is hidden; fall back to what libuv reports.
  }
  return os.cpus()[0]?.model ?? 'unknown';
}

function describeMachine() {
  return {
    date: new Date().toISOString(),
    node: process.version,
    kernel: os.release(),
    cpu: cpuModel(),
    cores: os.availableParallelism(),
    hostname: os.hostname(),
  };
}

module.exports = { describeMachine };
