import type { Logger } from '../../credentials/index.js';
import type { Services } from '../../app.js';

/** Where a subcommand's lines go (stdout or stderr is the entry's choice: see terminal.ts). */
export type Print = (line: string) => void;

/** Progress of a long command (the sweep), for a bar on a terminal; not called otherwise. */
export type Progress = (done: number, total: number) => void;

/** Reads a secret from standard input, never echoing it (import-refresh-token). */
export type ReadSecret = () => Promise<string>;

/** Asks the operator a yes/no question (a terminal prompt in the CLI; scripted in tests). */
export type Confirm = (question: string) => Promise<boolean>;

/** What a subcommand runs with: the app's services over the configured store, the time, and the operator's I/O. */
export interface OpsContext {
  services: Services & { logger: Logger };
  now: Date;
  print: Print;
  confirm: Confirm;
  progress: Progress | undefined;
  readSecret: ReadSecret;
}
