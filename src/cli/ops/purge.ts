import { misplacedOption, parseDuration, UNIT_MS, unexpectedArguments, type OpsOptions } from './arguments.js';
import type { OpsContext } from './context.js';

/** Attempts are audit, kept this long by default (`purge --older-than`); credential rows are never purged. */
export const DEFAULT_RETENTION = '90d';

export const PURGE_USAGE = `npm run ops -- purge [--older-than ${DEFAULT_RETENTION}] [--dry-run]`;

/** Rows deleted per statement: short transactions, so the purge never holds up the flow. */
const PURGE_BATCH = 1000;

export interface PurgeCommand {
  kind: 'purge';
  olderThanMs: number;
  dryRun: boolean;
}

export function parsePurge(options: OpsOptions, extra: string[]): PurgeCommand | string {
  const problem = misplacedOption('purge', options, ['older-than', 'dry-run']) ?? unexpectedArguments(extra);
  if (problem !== undefined) return problem;
  const olderThanMs = parseDuration(options['older-than'] ?? DEFAULT_RETENTION);
  if (olderThanMs === undefined || olderThanMs < UNIT_MS.d) return '--older-than takes a duration of at least a day, such as 90d';
  return { kind: 'purge', olderThanMs, dryRun: options['dry-run'] === true };
}

/** Deletes ended attempts older than the cut-off in batches, keeping credential rows and each row's last attempt. */
export async function runPurge(command: PurgeCommand, { services: { store }, now, print }: OpsContext): Promise<number> {
  const olderThan = new Date(now.getTime() - command.olderThanMs);
  let total = 0;
  if (command.dryRun) {
    // One count, however many: a dry run deletes nothing, so it needs no batches.
    total = await store.purgeAttempts({ olderThan, now, limit: 100_000, dryRun: true });
    print(`would delete ${total} ended ${total === 1 ? 'attempt' : 'attempts'} created before ${olderThan.toISOString()} (dry run: nothing deleted)`);
    return 0;
  }
  for (let batches = 1; ; batches++) {
    const deleted = await store.purgeAttempts({ olderThan, now, limit: PURGE_BATCH, dryRun: false });
    total += deleted;
    if (deleted < PURGE_BATCH) {
      print(`deleted ${total} ended ${total === 1 ? 'attempt' : 'attempts'} created before ${olderThan.toISOString()} in ${batches} ${batches === 1 ? 'batch' : 'batches'}; credential rows and each row's last attempt kept`);
      return 0;
    }
  }
}
