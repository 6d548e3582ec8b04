/**
 * A tiny TOML subset reader, enough for containers' storage.conf: it returns
 * the string-valued keys of each table. Tables are `[a.b]` headers; keys are
 * bare or quoted; values kept are basic ("...") or literal ('...') one-line
 * strings. Everything else (numbers, booleans, arrays, even multi-line ones,
 * inline tables, `[[arrays of tables]]`, multi-line strings) is skipped.
 * Malformed lines are ignored, never thrown on: podman itself is the judge of
 * a file's validity, we only want the few keys it would read.
 */
export type TomlStrings = Map<string, Map<string, string>>;

/** Parses `text`; the top-level table is ''. */
export function parseTomlStrings(text: string): TomlStrings {
  const tables: TomlStrings = new Map();
  let current: Map<string, string> | null = table(tables, '');
  let depth = 0; // open brackets/braces of a multi-line value being skipped

  for (const rawLine of text.split(/\r?\n/)) {
    if (depth > 0) {
      depth += bracketDelta(rawLine);
      if (depth < 0) depth = 0;
      continue;
    }
    const line = rawLine.trim();
    if (line === '' || line.startsWith('#')) continue;

    if (line.startsWith('[[')) {
      current = null; // array of tables: not ours
      continue;
    }
    if (line.startsWith('[')) {
      const end = line.indexOf(']');
      if (end < 0) continue;
      const name = line
        .slice(1, end)
        .split('.')
        .map((p) => unquoteKey(p.trim()))
        .join('.');
      current = table(tables, name);
      continue;
    }

    const kv = splitKeyValue(line);
    if (!kv) continue;
    const [key, valueText] = kv;
    const str = readString(valueText);
    if (str !== undefined) {
      current?.set(key, str);
      continue;
    }
    // Not a string: skip it, including the rest of a multi-line array/table.
    depth = Math.max(0, bracketDelta(valueText));
  }
  return tables;
}

function table(tables: TomlStrings, name: string): Map<string, string> {
  let t = tables.get(name);
  if (!t) {
    t = new Map();
    tables.set(name, t);
  }
  return t;
}

function unquoteKey(k: string): string {
  if (k.length >= 2 && (k[0] === '"' || k[0] === "'") && k[k.length - 1] === k[0]) return k.slice(1, -1);
  return k;
}

/** `key = value` -> [key, value text]; the key may be quoted. */
function splitKeyValue(line: string): [string, string] | null {
  let key: string;
  let rest: string;
  if (line[0] === '"' || line[0] === "'") {
    const end = line.indexOf(line[0], 1);
    if (end < 0) return null;
    key = line.slice(1, end);
    rest = line.slice(end + 1).trimStart();
    if (!rest.startsWith('=')) return null;
    rest = rest.slice(1);
  } else {
    const eq = line.indexOf('=');
    if (eq < 0) return null;
    key = line.slice(0, eq).trim();
    if (!/^[A-Za-z0-9_.-]+$/.test(key)) return null;
    rest = line.slice(eq + 1);
  }
  return [key, rest.trim()];
}

/** Reads a one-line TOML string value (with an optional trailing comment). */
function readString(v: string): string | undefined {
  if (v.startsWith('"""') || v.startsWith("'''")) return undefined;
  if (v.startsWith("'")) {
    const end = v.indexOf("'", 1);
    if (end < 0 || !isTrailer(v.slice(end + 1))) return undefined;
    return v.slice(1, end);
  }
  if (!v.startsWith('"')) return undefined;
  let out = '';
  for (let i = 1; i < v.length; i++) {
    const c = v[i];
    if (c === '"') return isTrailer(v.slice(i + 1)) ? out : undefined;
    if (c !== '\\') {
      out += c;
      continue;
    }
    const e = v[++i];
    switch (e) {
      case 'n': out += '\n'; break;
      case 't': out += '\t'; break;
      case 'r': out += '\r'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case '"': out += '"'; break;
      case '\\': out += '\\'; break;
      case 'u':
      case 'U': {
        const n = e === 'u' ? 4 : 8;
        const hex = v.slice(i + 1, i + 1 + n);
        if (!/^[0-9A-Fa-f]+$/.test(hex) || hex.length !== n) return undefined;
        out += String.fromCodePoint(parseInt(hex, 16));
        i += n;
        break;
      }
      default:
        return undefined;
    }
  }
  return undefined; // unterminated
}

function isTrailer(s: string): boolean {
  const t = s.trim();
  return t === '' || t.startsWith('#');
}

/** Net count of [ { minus ] } outside strings and comments. */
function bracketDelta(s: string): number {
  let d = 0;
  let quote: string | null = null;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (quote) {
      if (c === '\\' && quote === '"') i++;
      else if (c === quote) quote = null;
      continue;
    }
    if (c === '#') break;
    if (c === '"' || c === "'") quote = c;
    else if (c === '[' || c === '{') d++;
    else if (c === ']' || c === '}') d--;
  }
  return d;
}
