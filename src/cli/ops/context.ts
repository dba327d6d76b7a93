import type { Logger } from '../../credentials/index.js';
import type { Services } from '../../app.js';

/** Where a subcommand's lines go (stdout or stderr is the entry's choice: see terminal.ts). */
export type Print = (line: string) => void;

/** Progress of a long command (the sweep), for a bar on a terminal; not called otherwise. */
export type Progress = (done: number, total: number) => void;

/**
 * Reads a secret from standard input, never echoing it (import-refresh-token). Rejects with SecretInputTooLarge past
 * MAX_SECRET_INPUT_BYTES, having read no further.
 */
export type ReadSecret = () => Promise<string>;

/** What standard input may hold for a secret: a refresh token is at most 2048 bytes; 16 KiB leaves room for white space. */
export const MAX_SECRET_INPUT_BYTES = 16 * 1024;

export class SecretInputTooLarge extends Error {
  override readonly name = 'SecretInputTooLarge';
  constructor(readonly limitBytes: number) {
    super(`standard input holds more than ${limitBytes} bytes`);
  }
}

/** Asks the operator a yes/no question (a terminal prompt in the CLI; scripted in tests); undefined: nobody to ask (no terminal). */
export type Confirm = (question: string) => Promise<boolean | undefined>;

/** What a subcommand runs with: the app's services over the configured store, the time, and the operator's I/O. */
export interface OpsContext {
  services: Services & { logger: Logger };
  now: Date;
  print: Print;
  confirm: Confirm;
  progress: Progress | undefined;
  readSecret: ReadSecret;
}
