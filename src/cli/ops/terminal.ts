import { createInterface } from 'node:readline/promises';
import type { Confirm, Print, Progress } from './context.js';

/** A prompt on stderr, answered on a terminal only: without one (a pipe, a job) the answer is no. */
export const terminalConfirm: Confirm = async (question) => {
  if (!process.stdin.isTTY) return false;
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
};

/**
 * Results to stdout (so `--json > file` holds JSON only); usage and problems, which start with "ops:" or "usage:",
 * to stderr. Printed as they come, so unlink shows the row before it asks.
 */
export const terminalPrint: Print = (line) => (/^(ops:|usage:|\s{7}npm run ops)/.test(line) ? console.error : console.log)(line);

/** A bar on a terminal only (stderr, redrawn in place); pipes and logs get the summary alone. */
export function terminalProgress(): Progress | undefined {
  if (!process.stderr.isTTY) return undefined;
  return (done, total) => {
    const width = 30;
    const filled = total === 0 ? width : Math.round((done / total) * width);
    process.stderr.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}${done === total ? '\n' : ''}`);
  };
}

/**
 * Standard input, never echoed: on a terminal a prompt on stderr and raw input up to Enter (Ctrl+C aborts); from a
 * pipe or file, everything. Nothing read is printed.
 */
export async function readSecretFromStdin(): Promise<string> {
  const input = process.stdin;
  if (!input.isTTY) {
    const chunks: Buffer[] = [];
    for await (const chunk of input) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
    return Buffer.concat(chunks).toString('utf8');
  }
  process.stderr.write('Refresh token (Atzr|…, not shown): ');
  return new Promise((resolve) => {
    let typed = '';
    input.setRawMode(true);
    input.resume();
    const onData = (chunk: Buffer): void => {
      for (const ch of chunk.toString('utf8')) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') {
          input.setRawMode(false);
          input.pause();
          input.off('data', onData);
          process.stderr.write('\n');
          resolve(typed);
          return;
        }
        if (ch === '\u0003') process.exit(130);
        typed = ch === '\u007f' ? typed.slice(0, -1) : typed + ch;
      }
    };
    input.on('data', onData);
  });
}
