// The checks scripts/prebuild.js makes of each prebuilt addon, beyond what
// prebuildify does, by reading the file's ELF headers itself: the host's
// binutils may read only its own machine's files (Debian's objdump reads no
// AArch64), and the checks must mean the same for all four targets.
// test/prebuild-checks.test.ts holds them to GNU objdump and readelf.
'use strict';
const fs = require('node:fs');
const { isDeepStrictEqual } = require('node:util');

/** The newest glibc a prebuild may need: what Zig's *-linux-gnu.2.17 targets link against. */
const GLIBC = '2.17';

/** The N-API entry points, the only symbols an artifact may export. */
const EXPORTS = ['napi_register_module_v1', 'node_api_module_get_api_version_v1'];

/**
 * The dynamic symbols of an ELF64 little-endian file: the names it exports
 * (defined, global, weak or unique, default or protected visibility) and the symbol
 * versions it needs (.gnu.version_r: GLIBC_2.17, GLIBCXX_3.4, ...), read from
 * its section headers, so that every target's file is read the same way
 * whatever binutils this host has (its objdump may read x86-64 only).
 */
function dynamicSymbols(elf) {
  const shoff = Number(elf.readBigUInt64LE(40));
  const [shsize, shnum] = [elf.readUInt16LE(58), elf.readUInt16LE(60)];
  const sections = [];
  for (let i = 0; i < shnum; i++) {
    const at = shoff + i * shsize;
    sections.push({
      type: elf.readUInt32LE(at + 4),
      offset: Number(elf.readBigUInt64LE(at + 24)),
      size: Number(elf.readBigUInt64LE(at + 32)),
      link: elf.readUInt32LE(at + 40),
      info: elf.readUInt32LE(at + 44),
    });
  }
  const cstring = (strtab, at) => {
    const start = sections[strtab].offset + at;
    return elf.toString('latin1', start, elf.indexOf(0, start));
  };
  const SHT_DYNSYM = 11;
  const SHT_GNU_VERNEED = 0x6ffffffe;
  const exported = [];
  const imported = [];
  const needed = [];
  for (const s of sections) {
    if (s.type === SHT_DYNSYM) {
      for (let at = s.offset + 24; at < s.offset + s.size; at += 24) {
        const [info, other, shndx] = [elf[at + 4], elf[at + 5], elf.readUInt16LE(at + 6)];
        const [bind, type, visibility] = [info >> 4, info & 0xf, other & 3];
        // Defined, STB_GLOBAL, STB_WEAK or STB_GNU_UNIQUE, not a section,
        // STV_DEFAULT or STV_PROTECTED.
        if (shndx !== 0 && (bind === 1 || bind === 2 || bind === 10) && type !== 3 && (visibility === 0 || visibility === 3)) {
          exported.push(cstring(s.link, elf.readUInt32LE(at)));
        }
        // Undefined: what it takes from other objects (libc).
        if (shndx === 0 && elf.readUInt32LE(at) !== 0) imported.push(cstring(s.link, elf.readUInt32LE(at)));
      }
    } else if (s.type === SHT_GNU_VERNEED) {
      // s.info Elf64_Verneed entries, each with vn_cnt Elf64_Vernaux.
      for (let n = 0, at = s.offset; n < s.info; n++) {
        const [count, aux, next] = [elf.readUInt16LE(at + 2), elf.readUInt32LE(at + 8), elf.readUInt32LE(at + 12)];
        for (let k = 0, a = at + aux; k < count; k++) {
          needed.push(cstring(s.link, elf.readUInt32LE(a + 8)));
          a += elf.readUInt32LE(a + 12);
        }
        at += next;
      }
    }
  }
  return { exported: exported.sort(), imported: [...new Set(imported)].sort(), needed: [...new Set(needed)].sort() };
}

/**
 * What the built file needs, checked: an ELF shared object for the target's
 * machine; no symbol version past glibc 2.17 (musl builds: no GLIBC version
 * at all), no GLIBCXX (libstdc++) and only the N-API entry points exported.
 * Returns a line describing it, or throws.
 */
function verify(t, file) {
  const elf = fs.readFileSync(file);
  const machine = elf.readUInt16LE(18);
  // ELFCLASS64, little-endian, ET_DYN.
  if (elf.readUInt32BE(0) !== 0x7f454c46 || elf[4] !== 2 || elf[5] !== 1 || elf.readUInt16LE(16) !== 3 || machine !== t.machine) {
    throw new Error(`${file}: not an ELF64 shared object for machine ${t.machine} (e_machine ${machine})`);
  }
  const { exported, needed } = dynamicSymbols(elf);
  const glibc = needed.filter((v) => v.startsWith('GLIBC_')).map((v) => v.slice(6));
  const newer = (a, b) => {
    const [x, y] = [a, b].map((v) => v.split('.').map(Number));
    for (let i = 0; i < Math.max(x.length, y.length); i++) if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) > (y[i] ?? 0);
    return false;
  };
  const max = glibc.reduce((m, v) => (newer(v, m) ? v : m), '0');
  if (t.libc === 'glibc' && glibc.length === 0) throw new Error(`${file}: needs no GLIBC symbol version: not linked against glibc?`);
  if (t.libc === 'musl' && glibc.length) throw new Error(`${file}: a musl build that needs GLIBC_${max}`);
  if (newer(max, GLIBC)) throw new Error(`${file}: needs GLIBC_${max}, newer than ${GLIBC}`);
  const cxx = needed.filter((v) => v.startsWith('GLIBCXX_') || v.startsWith('CXXABI_'));
  if (cxx.length) throw new Error(`${file}: needs libstdc++ (${cxx.join(' ')})`);
  if (!isDeepStrictEqual(exported, EXPORTS)) throw new Error(`${file}: exports ${exported.join(' ')}, not only ${EXPORTS.join(' ')}`);
  return `e_machine ${machine}, ${t.libc === 'glibc' ? `max GLIBC_${max}` : 'no GLIBC version'}, no GLIBCXX, exports ${exported.join(' ')}`;
}

/**
 * The addon has no thread-local variable of its own, so a PT_TLS segment in
 * the file means libc code was linked in with a private errno.  Zig's
 * libc_nonshared.a for glibc before 2.33 brings one (csu/errno.c) with its
 * static stat, fstatat and mknodat wrappers: a failure of those is stored
 * there, while the addon reads libc.so's errno, so lstat of a missing path
 * came out EAGAIN (native/core/stat_syscalls.h keeps those calls out).
 * Throws when the file has such a segment.
 */
function checkNoOwnTls(t, file) {
  const elf = fs.readFileSync(file);
  // ELF64 little-endian: e_phoff at 32, e_phentsize at 54, e_phnum at 56.
  const phoff = Number(elf.readBigUInt64LE(32));
  const [size, count] = [elf.readUInt16LE(54), elf.readUInt16LE(56)];
  for (let i = 0; i < count; i++) {
    const at = phoff + i * size;
    const PT_TLS = 7;
    if (elf.readUInt32LE(at) === PT_TLS) {
      const bytes = Number(elf.readBigUInt64LE(at + 40)); // p_memsz
      throw new Error(`${file}: has thread-local storage of its own (PT_TLS, ${bytes} bytes): a libc wrapper linked in statically sets a private errno, not libc's`);
    }
  }
  return 'no TLS of its own';
}


/**
 * Node unloads (dlclose) an addon that only a worker_thread loaded when the
 * thread ends.  Destructors registered with __cxa_atexit must then run at
 * unload, through __cxa_finalize: a file that registers some and never
 * calls it leaves them to exit(), which jumps into unmapped code (the
 * prebuilds crashed so before native/binding.cc called it).  glibc only:
 * musl never unloads.
 */
function checkFinalizes(t, file) {
  const { imported } = dynamicSymbols(fs.readFileSync(file));
  if (!imported.includes('__cxa_atexit')) return 'no destructor registered';
  if (t.libc !== 'glibc') return 'destructors registered, musl never unloads';
  if (!imported.includes('__cxa_finalize')) {
    throw new Error(`${file}: registers destructors with __cxa_atexit but never calls __cxa_finalize: unloaded by a worker_thread, it crashes at exit`);
  }
  return 'destructors run at unload';
}

/**
 * The addon must stay mapped once loaded (linked with -z nodelete): the
 * statically linked libc++ registers thread-specific-data destructors that
 * threads run when they end, and a worker_thread's end unloads an addon
 * only it loaded, so a thread ending after that jumped into unmapped code
 * (SIGSEGV, about one run in three on a busy machine).
 */
function checkNoDelete(t, file) {
  const elf = fs.readFileSync(file);
  const shoff = Number(elf.readBigUInt64LE(40));
  const [shsize, shnum] = [elf.readUInt16LE(58), elf.readUInt16LE(60)];
  const SHT_DYNAMIC = 6;
  const DT_FLAGS_1 = 0x6ffffffbn;
  const DF_1_NODELETE = 0x8n;
  for (let i = 0; i < shnum; i++) {
    const at = shoff + i * shsize;
    if (elf.readUInt32LE(at + 4) !== SHT_DYNAMIC) continue;
    const [offset, size] = [Number(elf.readBigUInt64LE(at + 24)), Number(elf.readBigUInt64LE(at + 32))];
    for (let d = offset; d < offset + size; d += 16) {
      if (elf.readBigUInt64LE(d) === DT_FLAGS_1 && (elf.readBigUInt64LE(d + 8) & DF_1_NODELETE) !== 0n) return 'never unloaded';
    }
  }
  throw new Error(`${file}: not linked with -z nodelete: unloaded when a worker_thread ends, its threads' destructors crash`);
}

module.exports = { EXPORTS, GLIBC, checkFinalizes, checkNoDelete, checkNoOwnTls, dynamicSymbols, verify };
