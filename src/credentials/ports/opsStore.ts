import type { AttemptRecord } from '../attempts.js';
import type { CredentialSecrets, CredentialSummary } from '../credential.js';
import type { CredentialStatusRow, StatusFilter } from '../deadlines.js';
import type { CredentialScope } from '../marketplaces.js';
import type { CredentialStatus } from '../statuses.js';

/** What ops and oxWebApp read and what ops commands change: the ops view, attempts, unlink, import, purge. */
export interface OpsStore {
  /** The ops view at `now` (statusRowAt), ordered by days left (soonest first, rows without a deadline last), then customer, region. */
  listCredentialStatus(filter: StatusFilter, now: Date): Promise<CredentialStatusRow[]>;

  /** Attempts created at or after `since`, newest first, at most `limit` (default 200). */
  listRecentAttempts(filter: { customerId?: string | undefined; since: Date; limit?: number | undefined }): Promise<AttemptRecord[]>;

  listAttempts(filter?: { customerId?: string }): Promise<AttemptRecord[]>;
  listCredentials(): Promise<CredentialSummary[]>;
  /** The rows of one customer, or of one selling partner, in any status (no secrets). */
  listCredentialsFor(filter: { customerId: string } | { sellingPartnerId: string }): Promise<CredentialSummary[]>;
  findCredential(customerId: string, scope: CredentialScope): Promise<(CredentialSummary & CredentialSecrets) | undefined>;

  /**
   * Ops: clears the link of (customer, scope) (selling partner, refresh token, code and MWS token), moves the status
   * by STATUS_CHANGES.unlinked and records an attempt (flow `ops`, outcome succeeded, reason `unlinked`, the previous
   * seller), in one transaction.
   */
  unlinkCredential(input: Unlink): Promise<UnlinkResult>;

  /**
   * Stores a self-authorized refresh token as an authorization (status by STATUS_CHANGES.succeeded, the grant dates,
   * a `self_authorization` attempt that succeeded, and its granted/reauthorized event), in one transaction.
   * 'partner_changed' (nothing written) when the row is authorized for another seller; 'partner_conflict' when
   * another customer's authorized row holds this seller in the scope; 'token_in_use' when any credential row already
   * holds this refresh token (one of `fingerprints`).
   */
  importRefreshToken(input: ImportedRefreshToken): Promise<'stored' | 'partner_changed' | 'partner_conflict' | 'token_in_use'>;

  /**
   * Deletes (or counts, on a dry run) up to `limit` ended attempts created before `olderThan`: any outcome but
   * pending, or pending and abandoned/interrupted at `now`. Never a credential row, never the newest started attempt
   * of a (customer, scope). Returns how many; call again until it returns less than `limit`.
   */
  purgeAttempts(input: AttemptPurge): Promise<number>;
}

export interface Unlink {
  customerId: string;
  scope: CredentialScope;
  now: Date;
}

export type UnlinkResult =
  | { kind: 'unlinked'; previousSellingPartnerId: string | null; previousStatus: CredentialStatus }
  | { kind: 'not_found' };

/** A self-authorized refresh token, proven with LWA, for `importRefreshToken`. */
export interface ImportedRefreshToken {
  customerId: string;
  scope: CredentialScope;
  marketplace: string;
  sellingPartnerId: string;
  /** A TokenCipher envelope of the refresh token. */
  encryptedRefreshToken: string;
  /** Its keyed fingerprint under the sealing key (stored), and under every key of the ring (none may be stored yet). */
  refreshTokenFingerprint: string;
  fingerprints: readonly string[];
  now: Date;
}

export interface AttemptPurge {
  /** Ended attempts created before this are deleted. */
  olderThan: Date;
  /** Decides which pending attempts have ended (abandoned, interrupted). */
  now: Date;
  /** At most this many rows in one call (one statement). */
  limit: number;
  /** Count what would be deleted, delete nothing. */
  dryRun: boolean;
}
