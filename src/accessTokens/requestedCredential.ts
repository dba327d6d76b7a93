import type { CredentialSummary, Region } from '../credentials/index.js';
import type { RequesterKind } from './accessTokenCache.js';
import { describeStatuses, fail, revoked, type AccessTokenFailure, type AccessTokenRequest } from './accessTokenResult.js';

/** Who the request names: a customer (`c`) or a seller (`s`), and its id. */
export function requesterOf(request: AccessTokenRequest): [RequesterKind, string] {
  return 'customerId' in request ? ['c', request.customerId] : ['s', request.sellingPartnerId];
}

export type CredentialChoice = { ok: true; customerId: string; region: Region } | AccessTokenFailure;

/**
 * Which (customer, region) a request means, from the rows of its customer or seller: the one authorized row (in the
 * request's region, when it names one). Several authorized rows without a region ask for one; none answers why.
 */
export function chooseCredential(
  request: AccessTokenRequest,
  rowsOfRequester: CredentialSummary[],
): CredentialChoice {
  const who = 'customerId' in request ? `Customer ${request.customerId}` : `Seller ${request.sellingPartnerId}`;
  const rows = rowsOfRequester.filter((r) => request.region === undefined || r.region === request.region);
  const where = request.region === undefined ? '' : ` in ${request.region}`;
  const authorized = rows.filter((r) => r.status === 'authorized');
  if (authorized.length > 1) {
    const regions = authorized.map((r) => r.region).join(', ');
    return fail('region_required', `${who} is authorized in ${regions}: name one with ?region=${authorized.map((r) => r.region).join('|')}.`);
  }
  const [only] = authorized;
  if (only !== undefined) return { ok: true, customerId: only.customerId, region: only.region };
  if (rows.some((r) => r.status === 'revoked')) return revoked(who, where);
  return fail('not_authorized', `${who} has no Amazon authorization${where}.${rows.length > 0 ? ` Its status is ${describeStatuses(rows)}.` : ''}`);
}
