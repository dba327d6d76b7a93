import { isRegion, type Region } from '../../credentials/index.js';
import { isValidCustomerId } from '../../authorization/launchLink.js';
import { unlinkCredential } from '../../authorization/unlinkCredential.js';
import { misplacedOption, unexpectedArguments, type OpsOptions } from './arguments.js';
import type { OpsContext } from './context.js';

export const UNLINK_USAGE = 'npm run ops -- unlink --customer ID --region NA|EU|FE [--yes]';

export interface UnlinkCommand {
  kind: 'unlink';
  customerId: string;
  region: Region;
  yes: boolean;
}

export function parseUnlink(options: OpsOptions, extra: string[]): UnlinkCommand | string {
  const problem = misplacedOption('unlink', options, ['customer', 'region', 'yes']) ?? unexpectedArguments(extra);
  if (problem !== undefined) return problem;
  if (options.customer === undefined || !isValidCustomerId(options.customer)) return 'unlink needs --customer with a valid customer id';
  const region = options.region?.toUpperCase();
  if (region === undefined || !isRegion(region)) return 'unlink needs --region NA, EU or FE';
  return { kind: 'unlink', customerId: options.customer, region, yes: options.yes === true };
}

/** Shows the row, asks (unless --yes), then unlinks it through the same use case as the flows. */
export async function runUnlink(command: UnlinkCommand, { services, print, confirm }: OpsContext): Promise<number> {
  const { customerId, region } = command;
  const [row] = await services.store.listCredentialStatus({ customerId }, services.clock.now()).then((rows) => rows.filter((r) => r.region === region));
  if (row === undefined) {
    print(`ops: customer ${customerId} has no row in ${region}: nothing to unlink`);
    return 1;
  }
  print(`customer ${customerId} in ${region}: seller ${row.sellingPartnerId ?? '-'}, status ${row.status}`);
  const question = `Unlink it? Its refresh token is deleted and its next authorization may bring another seller. [y/N] `;
  if (!command.yes) {
    const answer = await confirm(question);
    if (answer === undefined) {
      print('ops: not unlinked: there is no terminal to ask for confirmation on; add --yes to unlink without asking');
      return 1;
    }
    if (!answer) {
      print('ops: not unlinked');
      return 1;
    }
  }
  const result = await unlinkCredential(services, { customerId, region });
  if (result.kind === 'not_found') {
    print(`ops: customer ${customerId} has no row in ${region}: nothing to unlink`);
    return 1;
  }
  print(`unlinked customer ${customerId} in ${region} (was seller ${result.previousSellingPartnerId ?? '-'}, ${result.previousStatus}); recorded as an ops attempt`);
  return 0;
}
