import { printParseErrorCode, visit } from 'jsonc-parser';

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

/** Deeper than this is refused before jsonc-parser's recursive descent could run out of stack. */
const MAX_DEPTH = 512;
const STRING_ERRORS: ReadonlySet<string> = new Set(['UnexpectedEndOfString', 'InvalidUnicode', 'InvalidEscapeCharacter', 'InvalidCharacter']);
/** A number as JSON writes it: the part of "1." or "1e" that is a whole value. */
const JSON_NUMBER = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/;

/** What the text may hold next: the reason for an error depends on it, not on jsonc-parser's error code. */
type Expecting =
  | 'name' // after `{`
  | 'name after comma'
  | 'colon'
  | 'value' // at the start, after `:` or `[`
  | 'value after comma'
  | 'after value';

/** Stops the visit at the first problem. */
class JsonStop extends Error {
  constructor(
    readonly offset: number,
    readonly reason: string,
  ) {
    super(reason);
  }
}

/**
 * jsonc-parser (comments and trailing commas refused, as JSON does) finds the first token that is wrong; the reason
 * says what was expected there, and a bad string or number is pinned to the character that breaks it.
 */
export function findJsonProblem(text: string): JsonProblem | undefined {
  // A byte-order mark is tolerated, as Core Tools tolerates it; positions still count it.
  const bom = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const json = text.slice(bom);
  const open: ('object' | 'array')[] = [];
  let expecting: Expecting = 'value';
  const value = (offset: number): void => {
    if (open.length > MAX_DEPTH) throw new JsonStop(offset, 'nested too deeply');
    expecting = 'after value';
  };
  const enter = (kind: 'object' | 'array', offset: number): void => {
    value(offset);
    open.push(kind);
    expecting = kind === 'object' ? 'name' : 'value';
  };
  const leave = (offset: number): void => {
    // At the end of the text jsonc-parser closes the container before it reports the missing bracket.
    if (offset >= json.length) return;
    open.pop();
    expecting = 'after value';
  };
  const problemAt = (offset: number): JsonStop => new JsonStop(offset, reasonFor(expecting, json.charAt(offset), open.at(-1)));
  try {
    visit(
      json,
      {
        onObjectBegin: (offset) => enter('object', offset),
        onArrayBegin: (offset) => enter('array', offset),
        onObjectEnd: leave,
        onArrayEnd: leave,
        onObjectProperty: () => void (expecting = 'colon'),
        onSeparator: (separator) => {
          expecting = separator === ':' ? 'value' : open.at(-1) === 'object' ? 'name after comma' : 'value after comma';
        },
        onLiteralValue: (_literal, offset) => value(offset),
        onError: (code, offset) => {
          const error = printParseErrorCode(code);
          const valueExpected = expecting === 'value' || expecting === 'value after comma';
          if (valueExpected && open.length > MAX_DEPTH) throw new JsonStop(offset, 'nested too deeply');
          if (STRING_ERRORS.has(error) && (valueExpected || expecting === 'name' || expecting === 'name after comma')) {
            const problem = stringProblem(json, offset);
            throw new JsonStop(problem.offset, problem.reason);
          }
          if (valueExpected && (error === 'UnexpectedEndOfNumber' || error === 'InvalidSymbol')) {
            // `1.`, `truex`: a whole value, then something that cannot follow it.
            const rest = json.slice(offset);
            const whole = JSON_NUMBER.exec(rest)?.[0] ?? /^(true|false|null)/.exec(rest)?.[0];
            if (whole !== undefined) {
              expecting = 'after value';
              throw problemAt(offset + whole.length);
            }
          }
          throw problemAt(offset);
        },
      },
      { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false },
    );
    return undefined;
  } catch (error) {
    if (!(error instanceof JsonStop)) throw error;
    return { ...lineAndColumn(text, bom + error.offset), reason: error.reason };
  }
}

/** Why the character `at` ('' at the end of the text) cannot come where `expecting` says. */
function reasonFor(expecting: Expecting, at: string, container: 'object' | 'array' | undefined): string {
  switch (expecting) {
    case 'name':
    case 'name after comma':
      return at === '}' && expecting === 'name after comma' ? 'trailing comma' : 'expected a double-quoted property name';
    case 'colon':
      return "expected ':' after a property name";
    case 'value':
    case 'value after comma':
      if (at === '') return 'unexpected end of file';
      return at === ']' && expecting === 'value after comma' ? 'trailing comma' : 'unexpected character';
    case 'after value':
      if (container === undefined) return 'unexpected text after the end of the JSON';
      if (at === '') return 'unexpected end of file';
      return container === 'object' ? "expected ',' or '}' after a property value" : "expected ',' or ']' after a value";
  }
}

/**
 * jsonc-parser reports a bad string at its opening quote; the character that breaks it is found here: a control
 * character (a line break included), a bad escape, or the end of the text.
 */
function stringProblem(json: string, quote: number): { offset: number; reason: string } {
  for (let i = quote + 1; i < json.length; i++) {
    const c = json.charAt(i);
    // Closed without a problem found here: jsonc-parser saw one this check does not know; point at the string.
    if (c === '"') return { offset: quote, reason: 'bad string' };
    if (c < ' ') return { offset: i, reason: 'control character inside a string' };
    if (c !== '\\') continue;
    const next = json.charAt(i + 1);
    if (next === 'u') {
      if (!/^[0-9a-fA-F]{4}$/.test(json.slice(i + 2, i + 6))) return { offset: i, reason: 'bad \\u escape' };
      i += 5;
    } else if (next === '' || !'"\\/bfnrt'.includes(next)) {
      return { offset: i, reason: 'bad escape' };
    } else i += 1;
  }
  return { offset: json.length, reason: 'unterminated string' };
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
    // jsonc-parser and JSON.parse disagree only on inputs neither should accept; say so without quoting.
    return { ok: false, problem: 'not valid JSON' };
  }
}
