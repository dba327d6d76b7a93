import { isScope, type CredentialScope } from '../../credentials/index.js';
import { isValidCustomerId } from '../../authorization/launchLink.js';
import { misplacedOption, SCOPE_USAGE, scopeOption, unexpectedArguments, type OpsOptions } from './arguments.js';
import type { OpsContext } from './context.js';

export const RECHECK_USAGE = `npm run ops -- recheck --customer ID ${SCOPE_USAGE}`;

export interface RecheckCommand {
  kind: 'recheck';
  customerId: string;
  scope: CredentialScope;
}

export function parseRecheck(options: OpsOptions, extra: string[]): RecheckCommand | string {
  const problem = misplacedOption('recheck', options, ['customer', 'region', 'marketplace']) ?? unexpectedArguments(extra);
  if (problem !== undefined) return problem;
  if (options.customer === undefined || !isValidCustomerId(options.customer)) return 'recheck needs --customer with a valid customer id';
  const scope = scopeOption('recheck', options);
  if (!isScope(scope)) return scope;
  return { kind: 'recheck', customerId: options.customer, scope };
}

/** What each outcome means to the operator (exit 0 only when the row is authorized again). */
const SAID = {
  restored: 'LWA accepted the refresh token: the row is authorized again (authorization.restored); the revocation stays in its attempts',
  still_revoked: 'LWA refused the refresh token again (invalid_grant): the row stays revoked; only a new consent by the seller brings it back',
  not_revoked: 'the row is not revoked: nothing to recheck',
  no_refresh_token: 'the row holds no refresh token: only a new consent by the seller brings it back',
  lwa_client_rejected: "LWA refused Shipica's own client credentials (an app-wide incident, see /api/health): nothing was learned about this seller",
  lwa_unavailable: 'LWA did not answer: try again later',
  credential_unreadable: 'the stored refresh token cannot be decrypted with TOKEN_ENCRYPTION_KEYS',
} as const;

/** Proves a revoked row's sealed refresh token with LWA again, as the sweep does for REVOKED_RECHECK_DAYS. */
export async function runRecheck(command: RecheckCommand, { services, print }: OpsContext): Promise<number> {
  const outcome = await services.accessTokens.recheckRevoked(command.customerId, command.scope);
  print(`customer ${command.customerId} in ${command.scope}: ${SAID[outcome]}`);
  if (outcome === 'restored' && services.events.enabled) await services.events.deliverDue();
  return outcome === 'restored' ? 0 : 1;
}
