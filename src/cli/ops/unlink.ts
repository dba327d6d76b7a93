import { isScope, type CredentialScope } from '../../credentials/index.js';
import { isValidCustomerId } from '../../authorization/launchLink.js';
import { unlinkCredential } from '../../authorization/unlinkCredential.js';
import { misplacedOption, SCOPE_USAGE, scopeOption, unexpectedArguments, type OpsOptions } from './arguments.js';
import type { OpsContext } from './context.js';

export const UNLINK_USAGE = `npm run ops -- unlink --customer ID ${SCOPE_USAGE} [--yes]`;

export interface UnlinkCommand {
  kind: 'unlink';
  customerId: string;
  scope: CredentialScope;
  yes: boolean;
}

export function parseUnlink(options: OpsOptions, extra: string[]): UnlinkCommand | string {
  const problem = misplacedOption('unlink', options, ['customer', 'region', 'marketplace', 'yes']) ?? unexpectedArguments(extra);
  if (problem !== undefined) return problem;
  if (options.customer === undefined || !isValidCustomerId(options.customer)) return 'unlink needs --customer with a valid customer id';
  const scope = scopeOption('unlink', options);
  if (!isScope(scope)) return scope;
  return { kind: 'unlink', customerId: options.customer, scope, yes: options.yes === true };
}

/** Shows the row, asks (unless --yes), then unlinks it through the same use case as the flows. */
export async function runUnlink(command: UnlinkCommand, { services, print, confirm }: OpsContext): Promise<number> {
  const { customerId, scope } = command;
  const [row] = await services.store.listCredentialStatus({ customerId }, services.clock.now()).then((rows) => rows.filter((r) => r.scope === scope));
  if (row === undefined) {
    print(`ops: customer ${customerId} has no row in ${scope}: nothing to unlink`);
    return 1;
  }
  print(`customer ${customerId} in ${scope}: seller ${row.sellingPartnerId ?? '-'}, status ${row.status}`);
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
  const result = await unlinkCredential(services, { customerId, scope });
  if (result.kind === 'not_found') {
    print(`ops: customer ${customerId} has no row in ${scope}: nothing to unlink`);
    return 1;
  }
  print(`unlinked customer ${customerId} in ${scope} (was seller ${result.previousSellingPartnerId ?? '-'}, ${result.previousStatus}); recorded as an ops attempt`);
  return 0;
}
