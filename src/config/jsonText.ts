/**
 * Where a JSON text first goes wrong, as line and column (both from 1) and a short reason that never quotes the
 * text: settings files hold secrets, and Node 20's JSON.parse messages quote them ("Unexpected token 'x', "{…" is
 * not valid JSON") while giving no position for some errors. Returns undefined for valid JSON.
 */
export interface JsonProblem {
  line: number;
  column: number;
  reason: string;
}

export function findJsonProblem(text: string): JsonProblem | undefined {
  let i = 0;
  const fail = (reason: string): never => {
    throw new JsonStop(i, reason);
  };
  const space = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i] ?? '')) i++;
  };
  const literal = (word: string) => {
    if (text.startsWith(word, i)) i += word.length;
    else fail('unexpected character');
  };
  const string = () => {
    i++; // opening quote
    for (;;) {
      const c = text[i];
      if (c === undefined) fail('unterminated string');
      if (c === '"') {
        i++;
        return;
      }
      if (c !== undefined && c < ' ') fail('control character inside a string');
      if (c === '\\') {
        const next = text[i + 1];
        if (next === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) fail('bad \\u escape');
          i += 6;
          continue;
        }
        if (next === undefined || !'"\\/bfnrt'.includes(next)) fail('bad escape');
        i += 2;
        continue;
      }
      i++;
    }
  };
  const number = () => {
    const match = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i));
    if (match === null) fail('unexpected character');
    i += match?.[0].length ?? 0;
  };
  const value = (depth: number): void => {
    if (depth > 512) fail('nested too deeply');
    space();
    const c = text[i];
    if (c === undefined) fail('unexpected end of file');
    if (c === '{') {
      i++;
      space();
      if (text[i] === '}') {
        i++;
        return;
      }
      for (;;) {
        space();
        if (text[i] !== '"') fail(text[i] === '}' ? 'trailing comma' : 'expected a double-quoted property name');
        string();
        space();
        if (text[i] !== ':') fail("expected ':' after a property name");
        i++;
        value(depth + 1);
        space();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          return;
        }
        fail(text[i] === undefined ? 'unexpected end of file' : "expected ',' or '}' after a property value");
      }
    }
    if (c === '[') {
      i++;
      space();
      if (text[i] === ']') {
        i++;
        return;
      }
      for (;;) {
        value(depth + 1);
        space();
        if (text[i] === ',') {
          i++;
          space();
          if (text[i] === ']') fail('trailing comma');
          continue;
        }
        if (text[i] === ']') {
          i++;
          return;
        }
        fail(text[i] === undefined ? 'unexpected end of file' : "expected ',' or ']' after a value");
      }
    }
    if (c === '"') return string();
    if (c === 't') return literal('true');
    if (c === 'f') return literal('false');
    if (c === 'n') return literal('null');
    return number();
  };
  try {
    // A byte-order mark is tolerated, as Core Tools tolerates it.
    if (text.charCodeAt(0) === 0xfeff) i = 1;
    value(0);
    space();
    if (i < text.length) fail('unexpected text after the end of the JSON');
    return undefined;
  } catch (error) {
    if (!(error instanceof JsonStop)) throw error;
    return { ...lineAndColumn(text, error.offset), reason: error.reason };
  }
}

class JsonStop extends Error {
  constructor(
    readonly offset: number,
    readonly reason: string,
  ) {
    super(reason);
  }
}

function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  const column = offset - (before.lastIndexOf('\n') + 1) + 1;
  return { line, column };
}

/** Parses JSON, or says where it is broken ("line 5, column 3: expected ',' or '}' …"), never quoting the text. */
export function parseJsonText(text: string): { ok: true; value: unknown } | { ok: false; problem: string } {
  const problem = findJsonProblem(text);
  if (problem !== undefined) return { ok: false, problem: `line ${problem.line}, column ${problem.column}: ${problem.reason}` };
  try {
    return { ok: true, value: JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text) as unknown };
  } catch {
    // The scanner and JSON.parse disagree only on inputs neither should accept; say so without quoting.
    return { ok: false, problem: 'not valid JSON' };
  }
}
