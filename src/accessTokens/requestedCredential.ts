import { regionOfScope, type CredentialScope, type CredentialSummary } from '../credentials/index.js';
import type { RequesterKind } from './accessTokenCache.js';
import { describeStatuses, fail, revoked, type AccessTokenFailure, type AccessTokenRequest } from './accessTokenResult.js';

/** Who the request names: a customer (`c`) or a seller (`s`), and its id. */
export function requesterOf(request: AccessTokenRequest): [RequesterKind, string] {
  return 'customerId' in request ? ['c', request.customerId] : ['s', request.sellingPartnerId];
}

export type CredentialChoice = { ok: true; customerId: string; scope: CredentialScope } | AccessTokenFailure;

/** What a request narrows the rows to: its scope, else its region, else nothing. */
function where(request: AccessTokenRequest): { matches: (row: CredentialSummary) => boolean; text: string } {
  const { scope, region } = request;
  if (scope !== undefined) return { matches: (r) => r.scope === scope, text: ` in ${scope}` };
  if (region !== undefined) return { matches: (r) => r.region === region, text: ` in ${region}` };
  return { matches: () => true, text: '' };
}

/** How a caller names each scope: ?region= for NA and EU, ?marketplace= in the Far East (one consent per marketplace). */
function howToName(scopes: readonly CredentialScope[]): string {
  const regions = scopes.filter((s) => regionOfScope(s) !== 'FE');
  const marketplaces = scopes.filter((s) => regionOfScope(s) === 'FE');
  const parts = [
    ...(regions.length > 0 ? [`?region=${regions.join('|')}`] : []),
    ...(marketplaces.length > 0 ? [`?marketplace=${marketplaces.join('|')}`] : []),
  ];
  return parts.join(' or ');
}

/**
 * Which (customer, scope) a request means, from the rows of its customer or seller: the one authorized row (in the
 * request's scope or region, when it names one). Several authorized rows ask for a choice, naming how to make it
 * (`region_required`; `marketplace_required` when the region named is the Far East); none answers why.
 */
export function chooseCredential(request: AccessTokenRequest, rowsOfRequester: CredentialSummary[]): CredentialChoice {
  const who = 'customerId' in request ? `Customer ${request.customerId}` : `Seller ${request.sellingPartnerId}`;
  const narrowed = where(request);
  const rows = rowsOfRequester.filter(narrowed.matches);
  const authorized = rows.filter((r) => r.status === 'authorized');
  if (authorized.length > 1) {
    const scopes = authorized.map((r) => r.scope);
    const error = request.region === 'FE' && request.scope === undefined ? 'marketplace_required' : 'region_required';
    return fail(error, `${who} has ${scopes.length} Amazon authorizations${narrowed.text} (${scopes.join(', ')}): name one with ${howToName(scopes)}.`);
  }
  const [only] = authorized;
  if (only !== undefined) return { ok: true, customerId: only.customerId, scope: only.scope };
  if (rows.some((r) => r.status === 'revoked')) return revoked(who, narrowed.text);
  return fail('not_authorized', `${who} has no Amazon authorization${narrowed.text}.${rows.length > 0 ? ` Its status is ${describeStatuses(rows)}.` : ''}`);
}
