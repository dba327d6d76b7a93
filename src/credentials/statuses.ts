/**
 * The status of a credential row says what is true of the credential, never of an attempt in progress:
 * `pending`: no authorization has completed yet (a row is created when the first attempt starts).
 * `authorized`: a working refresh token is stored (read as `expired` once 365 days old: computed, never written).
 * `failed`: the last authorization ended in failure and there is no working token.
 * `revoked`: LWA refused the refresh token (invalid_grant): the seller removed the app or the authorization lapsed.
 * `unlinked`: ops removed the link (`npm run ops -- unlink`), so the next authorization may bring another seller.
 */
export const CREDENTIAL_STATUSES = ['pending', 'authorized', 'failed', 'revoked', 'unlinked'] as const;
export type CredentialStatus = (typeof CREDENTIAL_STATUSES)[number];

/** What changes a status: outcomes only. Starting an attempt is not among them. */
export type StatusEvent = 'succeeded' | 'failed' | 'revoked' | 'unlinked';

/**
 * Every status change there is; a pair not listed leaves the row as it was. A new row starts `pending`, and starting
 * an attempt (website, Login URI or Appstore) never changes a status. The stores write their SQL from this table
 * (store/sql/statusCase.ts) and the contract suite walks every (status x event) pair.
 */
export const STATUS_CHANGES: Readonly<Record<StatusEvent, Partial<Record<CredentialStatus, CredentialStatus>>>> = {
  succeeded: { pending: 'authorized', authorized: 'authorized', failed: 'authorized', revoked: 'authorized', unlinked: 'authorized' },
  // A failed authorization never takes a working token away: an authorized row stays authorized.
  failed: { pending: 'failed', failed: 'failed', revoked: 'failed', unlinked: 'failed' },
  revoked: { authorized: 'revoked' },
  unlinked: { pending: 'unlinked', authorized: 'unlinked', failed: 'unlinked', revoked: 'unlinked', unlinked: 'unlinked' },
};

/** The status a row in `status` has after `event`. */
export function nextStatus(status: CredentialStatus, event: StatusEvent): CredentialStatus {
  return STATUS_CHANGES[event][status] ?? status;
}
