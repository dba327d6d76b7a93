import { isValidCustomerId } from '../../authorization/launchLink.js';
import { misplacedOption, unexpectedArguments, type OpsOptions } from './arguments.js';
import type { OpsContext } from './context.js';
import { table } from './format.js';

export const SWEEP_USAGE = 'npm run ops -- sweep [--customer ID] [--dry-run]';

export interface SweepCommand {
  kind: 'sweep';
  customerId: string | undefined;
  dryRun: boolean;
}

export function parseSweep(options: OpsOptions, extra: string[]): SweepCommand | string {
  const problem = misplacedOption('sweep', options, ['customer', 'dry-run']) ?? unexpectedArguments(extra);
  if (problem !== undefined) return problem;
  if (options.customer !== undefined && !isValidCustomerId(options.customer)) return '--customer needs a valid customer id';
  return { kind: 'sweep', customerId: options.customer, dryRun: options['dry-run'] === true };
}

/** The sweep, as the CredentialSweep timer runs it, then one line per seller and a summary. */
export async function runSweep(command: SweepCommand, { services, print, progress }: OpsContext): Promise<number> {
  // The timer's own settings are bad (ATTEMPT_RETENTION_DAYS, say): a hand run refuses as the timer does.
  const problems = services.settings.jobProblems.CredentialSweep;
  if (problems.length > 0) {
    for (const problem of problems) print(`ops: the sweep does not run: ${problem}`);
    return 1;
  }
  const summary = await services.sweep.run({ customerId: command.customerId, dryRun: command.dryRun, onProgress: progress });
  const header = ['customer', 'scope', 'seller', 'outcome', 'marketplaces', 'store'];
  const body = summary.sellers.map((r) => [r.customerId, r.scope, r.sellingPartnerId, r.restored ? `${r.outcome} (restored)` : r.outcome, r.countryCodes.join(','), r.storeName]);
  for (const line of table(header, body)) print(line);
  const counts = Object.entries(summary.counts)
    .filter(([, n]) => n > 0)
    .map(([outcome, n]) => `${n} ${outcome}`);
  print(
    `${command.dryRun ? 'dry run (nothing called, nothing written): ' : ''}${summary.rows} ${summary.rows === 1 ? 'row' : 'rows'} to check` +
      `${counts.length > 0 ? ` (${counts.join(', ')})` : ''}; ${summary.reminders} ${summary.reminders === 1 ? 'reminder' : 'reminders'}` +
      `${command.dryRun ? ' due' : ' written'}; ${summary.purgedAttempts} old attempts and ${summary.purgedEvents} delivered events ${command.dryRun ? 'to purge' : 'purged'}`,
  );
  if (summary.restored > 0) print(`${summary.restored} revoked ${summary.restored === 1 ? 'row was' : 'rows were'} authorized again: LWA accepted the refresh token when proven again`);
  if (summary.appWideDenial) print("ops: SP-API denied every seller checked (403): one app-wide incident (see /api/health), no seller flagged; check the app's roles in Solution Provider Portal");
  if (summary.stopped === 'lwa_client_rejected') {
    print('ops: LWA refused the app\'s client credentials (invalid_client): the sweep stopped; check LWA_CLIENT_SECRET');
    return 1;
  }
  // Reminders and flags written here reach oxWebApp now when a webhook is set (the timer would, within a minute).
  if (!command.dryRun && services.events.enabled) await services.events.deliverDue();
  return 0;
}
