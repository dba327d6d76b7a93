import { createInterface } from 'node:readline/promises';
import { MAX_SECRET_INPUT_BYTES, SecretInputTooLarge, type Confirm, type Print, type Progress } from './context.js';

/** A prompt on stderr, answered on a terminal only: without one (a pipe, a job) nobody is asked (undefined). */
export const terminalConfirm: Confirm = async (question) => {
  if (!process.stdin.isTTY) return undefined;
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
 * pipe or file, everything up to its end. Either way at most MAX_SECRET_INPUT_BYTES: past it the input is not read
 * further (the stream is destroyed; what was read is dropped) and the promise rejects with SecretInputTooLarge. Nothing
 * read is printed.
 */
export async function readSecretFromStdin(input: NodeJS.ReadableStream & Partial<Pick<NodeJS.ReadStream, 'isTTY' | 'setRawMode'>> = process.stdin, limit = MAX_SECRET_INPUT_BYTES): Promise<string> {
  if (input.isTTY !== true || input.setRawMode === undefined) {
    const chunks: Buffer[] = [];
    let size = 0;
    // Leaving the loop early (the throw) destroys the stream: nothing more is read.
    for await (const chunk of input) {
      const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
      size += bytes.length;
      if (size > limit) throw new SecretInputTooLarge(limit);
      chunks.push(bytes);
    }
    return Buffer.concat(chunks).toString('utf8');
  }
  const setRawMode = input.setRawMode.bind(input);
  process.stderr.write('Refresh token (Atzr|…, not shown): ');
  return new Promise((resolve, reject) => {
    let typed = '';
    setRawMode(true);
    input.resume();
    const done = (): void => {
      setRawMode(false);
      input.pause();
      input.off('data', onData);
      process.stderr.write('\n');
    };
    const onData = (chunk: Buffer): void => {
      for (const ch of chunk.toString('utf8')) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') {
          done();
          resolve(typed);
          return;
        }
        if (ch === '\u0003') process.exit(130);
        typed = ch === '\u007f' ? typed.slice(0, -1) : typed + ch;
        if (Buffer.byteLength(typed) > limit) {
          done();
          reject(new SecretInputTooLarge(limit));
          return;
        }
      }
    };
    input.on('data', onData);
  });
}
