// What a find --printf format makes the walk fetch: only the stat fields its
// directives print (GNU find's documented meaning of each: %s the size, %m
// %M %y the mode, %u %U the owner, %T@ the modification time, ...), the
// target's user names only for %u and %g, and nothing to stat for names,
// depths and link targets (a walk tells a symlink by its type). Output
// equal to GNU find's is held by test/cli.test.ts.
import { compileFormat } from '../lib/cli/printf';
import { relativeLatin1, relativePath } from '../lib/cli/names';

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
});

describe('relativeLatin1', () => {
  test('is relativePath as latin1, for names that are not UTF-8', () => {
    // Bytes 0xff and 0xe9 are no UTF-8; latin1 keeps one char a byte.
    const full = Buffer.concat([Buffer.from('/root//a/'), Buffer.from([0xff, 0x2f, 0x62, 0xe9])]);
    for (const depth of [0, 1, 2, 3]) {
      expect(relativeLatin1(full, depth)).toBe(relativePath(full, depth).toString('latin1'));
    }
    expect(relativeLatin1(full, 2)).toBe('\xff/b\xe9');
    expect(relativeLatin1(full, 0)).toBe('');
  });
});
