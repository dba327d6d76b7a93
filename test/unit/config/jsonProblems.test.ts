import { describe, expect, it } from 'vitest';
import { findJsonProblem, parseJsonText } from '../../../src/config/jsonText.js';

describe('findJsonProblem: the first error, said as what was expected there', () => {
  it.each([
    ['{"a" 1}', 1, 6, "expected ':' after a property name"],
    ['[1 2]', 1, 4, "expected ',' or ']' after a value"],
    ['{"a":1 "b":2}', 1, 8, "expected ',' or '}' after a property value"],
    ['{"a":1.}', 1, 7, "expected ',' or '}' after a property value"],
    ['[truex]', 1, 6, "expected ',' or ']' after a value"],
    ['[tru]', 1, 2, 'unexpected character'],
    ['{"a":"x\ny"}', 1, 8, 'control character inside a string'],
    ['{"a":"\\u12"}', 1, 7, 'bad \\u escape'],
    ['// note\n{}', 1, 1, 'unexpected character'],
    ['{}/* note */', 1, 3, 'unexpected text after the end of the JSON'],
    ['{', 1, 2, 'expected a double-quoted property name'],
    ['{"a":1', 1, 7, 'unexpected end of file'],
    ['[1,]', 1, 4, 'trailing comma'],
    ['{,}', 1, 2, 'expected a double-quoted property name'],
    ['\uFEFF{"a":x}', 1, 7, 'unexpected character'],
    ['{\r\n  "a": 1\r\n  "b": 2\r\n}', 3, 3, "expected ',' or '}' after a property value"],
  ])('%j → line %i, column %i: %s', (text, line, column, reason) => {
    expect(findJsonProblem(text)).toEqual({ line, column, reason });
  });

  it('refuses nesting deeper than 512 without running out of stack', () => {
    expect(findJsonProblem('['.repeat(513) + ']'.repeat(513))).toBeUndefined();
    expect(findJsonProblem('['.repeat(100_000))).toEqual({ line: 1, column: 514, reason: 'nested too deeply' });
  });

  it('parseJsonText gives the value, or the position and reason without quoting the text', () => {
    expect(parseJsonText('\uFEFF{"Values":{"A":"1"}}')).toEqual({ ok: true, value: { Values: { A: '1' } } });
    expect(parseJsonText('{"Values":{"A":"SECRET"\n"B":"2"}}')).toEqual({ ok: false, problem: "line 2, column 1: expected ',' or '}' after a property value" });
  });
});
