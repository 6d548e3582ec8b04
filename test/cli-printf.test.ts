// What a find --printf format makes the walk fetch: only the stat fields its
// directives print (GNU find's documented meaning of each: %s the size, %m
// %M %y the mode, %u %U the owner, %T@ the modification time, ...), the
// target's user names only for %u and %g, and nothing to stat for names,
// depths and link targets (a walk tells a symlink by its type). Output
// equal to GNU find's is held by test/cli.test.ts.
import { compileFormat } from '../lib/cli/printf';
import { relativeStart } from '../lib/cli/names';

describe('find --printf asks the walk for what it prints', () => {
  test.each([
    ['%p %s\\n', ['size']],
    ['%m %M %y', ['mode']],
    ['%u %U', ['uid']],
    ['%g %G', ['gid']],
    ['%n %i', ['nlink', 'ino']],
    ['%T@', ['mtime']],
    ['%s %u %s %T@', ['size', 'uid', 'mtime']],
  ])('%s fetches %j', (format, fields) => {
    const compiled = compileFormat(format);
    expect([...compiled.fields].sort()).toEqual([...fields].sort());
    expect(compiled.needsStats).toBe(true);
  });

  test.each(['%p %P %f %h %d\\n', '%l', '%%\\t', ''])('%j fetches no stats', (format) => {
    const compiled = compileFormat(format);
    expect(compiled.fields).toEqual([]);
    expect(compiled.needsStats).toBe(false);
  });

  test('user and group names are read for %u and %g only', () => {
    expect(compileFormat('%u').needsNames).toBe(true);
    expect(compileFormat('%g').needsNames).toBe(true);
    expect(compileFormat('%p %s %U %G %M %l %T@\\n').needsNames).toBe(false);
  });

  test('stats come as bigints for %i and %T@ only (inodes past 2^53, nanoseconds); other formats keep cheaper numbers', () => {
    expect(compileFormat('%i').needsBigInt).toBe(true);
    expect(compileFormat('%T@').needsBigInt).toBe(true);
    expect(compileFormat('%p %s %m %M %y %n %u %g %U %G %l %d\\n').needsBigInt).toBe(false);
  });
});

describe('relativeStart', () => {
  test('finds where the last names of a path start, in a latin1 path that is not UTF-8', () => {
    // Bytes 0xff and 0xe9 are no UTF-8; latin1 keeps one char a byte.
    const latin1 = Buffer.concat([Buffer.from('/root//a/'), Buffer.from([0xff, 0x2f, 0x62, 0xe9])]).toString('latin1');
    const below = (depth: number): string => latin1.slice(relativeStart(latin1, depth));
    expect([0, 1, 2, 3].map(below)).toEqual(['', 'b\xe9', '\xff/b\xe9', 'a/\xff/b\xe9']);
    // The root '/root/' written with two slashes: its length is where the names start.
    expect(relativeStart(latin1, 3)).toBe('/root//'.length);
  });
});
