import type { Region } from '../authorization/marketplaces.js';
import type { SecretColumn } from '../crypto/tokenCipher.js';

/**
 * What the authorization flow needs from storage. Two implementations (SQL Server, SQLite) pass one contract suite
 * (test/contract). Correctness rests on keys and single-statement conditional updates, never on lock hints.
 * Secret columns hold TokenCipher envelopes only: the store never sees a plain refresh token or code.
 */

/** `revoked`: LWA refused the refresh token (invalid_grant): the seller removed the app or the authorization lapsed. */
export const CREDENTIAL_STATUSES = ['pending', 'authorized', 'failed', 'revoked'] as const;
export type CredentialStatus = (typeof CREDENTIAL_STATUSES)[number];

export const ATTEMPT_OUTCOMES = ['pending', 'succeeded', 'failed', 'refused'] as const;
export type AttemptOutcome = (typeof ATTEMPT_OUTCOMES)[number];

/**
 * `website`: started by AuthorizeStart from oxWebApp's button. `reauthorize`: Seller Central > Manage Your Apps >
 * Re-Authorize, entering through the Login URI for a seller we know. `appstore`: a first install from the Appstore,
 * entering through the Login URI and identified by oxWebApp. `callback`: a refused callback, recorded on a row of its
 * own. `refresh`: an access-token refresh that found the authorization revoked (the audit of that change).
 */
export type AttemptFlow = 'website' | 'reauthorize' | 'appstore' | 'callback' | 'refresh';
export type StartedFlow = Extract<AttemptFlow, 'website' | 'reauthorize' | 'appstore'>;

export interface NewAttempt {
  stateHash: string;
  browserBindingHash: string;
  flow: StartedFlow;
  /** For the Login-URI flows: the seller Amazon named, whom the callback must return. */
  expectedSellingPartnerId: string | null;
  customerId: string;
  region: Region;
  marketplace: string;
  createdAt: Date;
  expiresAt: Date;
}

export interface AttemptRecord {
  attemptId: number;
  stateHash: string | null;
  browserBindingHash: string | null;
  flow: AttemptFlow;
  customerId: string | null;
  region: Region | null;
  marketplace: string | null;
  sellingPartnerId: string | null;
  expectedSellingPartnerId: string | null;
  codeHash: string | null;
  createdAt: Date;
  expiresAt: Date | null;
  consumedAt: Date | null;
  completedAt: Date | null;
  outcome: AttemptOutcome;
  reason: string | null;
  lwaError: string | null;
  lwaErrorDescription: string | null;
  relatedAttemptId: number | null;
}

/** A credential row without its secret columns: what pages, logs and ops may see. */
export interface CredentialSummary {
  customerId: string;
  region: Region;
  marketplace: string | null;
  sellingPartnerId: string | null;
  status: CredentialStatus;
  lastError: string | null;
  authRequestedDate: Date | null;
  authGrantedDate: Date | null;
  lwaRefreshTokenDate: Date | null;
  updatedAt: Date;
  hasRefreshToken: boolean;
}

export interface CredentialSecrets {
  /** TokenCipher envelopes, exactly as stored. */
  lwaRefreshToken: string | null;
  spapiOauthCode: string | null;
  mwsAuthToken: string | null;
}

export interface FailureDetails {
  reason: string;
  lwaError?: string | undefined;
  lwaErrorDescription?: string | undefined;
}

export interface AttemptConsumption {
  stateHash: string;
  now: Date;
  sellingPartnerId: string;
  codeHash: string;
}

export interface CallbackRecord {
  customerId: string;
  region: Region;
  sellingPartnerId: string;
  mwsAuthToken: string | undefined;
  encryptedCode: string;
  now: Date;
}

export interface CompletedAuthorization {
  attemptId: number;
  customerId: string;
  region: Region;
  marketplace: string;
  sellingPartnerId: string;
  encryptedRefreshToken: string;
  now: Date;
}

export interface FailedAuthorization {
  attemptId: number;
  customerId: string;
  region: Region;
  failure: FailureDetails;
  now: Date;
}

export interface RefusedCallback {
  related: AttemptRecord | undefined;
  sellingPartnerId: string | undefined;
  reason: string;
  now: Date;
}

export interface Revocation {
  customerId: string;
  region: Region;
  /** The envelope that LWA refused: a row re-authorized meanwhile (new token) is not marked. */
  expectedRefreshToken: string;
  failure: FailureDetails;
  now: Date;
}

export interface SecretEnvelopes {
  customerId: string;
  region: Region;
  lwaRefreshToken: string | null;
  spapiOauthCode: string | null;
}

export interface EnvelopeReplacement {
  customerId: string;
  region: Region;
  column: SecretColumn;
  expected: string;
  replacement: string;
}

/** Amazon makes sellers re-authorize every 365 days. */
export const REAUTHORIZE_AFTER_DAYS = 365;

/**
 * One row of the ops view `sp_api_credentials_status` (both stores define it): no secret columns. `status` is
 * `expired` for an authorized row past `reauthorize_by` (computed, never written).
 */
export interface CredentialStatusRow {
  customerId: string;
  region: Region;
  marketplace: string | null;
  sellingPartnerId: string | null;
  status: CredentialStatus | 'expired';
  authRequestedDate: Date | null;
  authGrantedDate: Date | null;
  /** auth_granted_date + 365 days, for authorized (and expired) rows; null otherwise. */
  reauthorizeBy: Date | null;
  /** Whole days from now to reauthorize_by (negative once past); null when reauthorize_by is. */
  daysLeft: number | null;
  lastError: string | null;
  lastAttemptAt: Date | null;
  lastAttemptOutcome: AttemptOutcome | null;
  lastAttemptReason: string | null;
}

export interface StatusFilter {
  customerId?: string | undefined;
  /** Only rows with days_left <= this many whole days (already expired ones included; never rows without a deadline). */
  expiringWithinDays?: number | undefined;
}

export interface CredentialStore {
  /** Inserts the attempt and upserts the (customer, region) row, in one transaction. An authorized row stays authorized. */
  startAuthorization(attempt: NewAttempt): Promise<void>;

  findAttemptByStateHash(stateHash: string): Promise<AttemptRecord | undefined>;

  /**
   * Marks the attempt consumed when it is unconsumed and unexpired at `now`, in one conditional UPDATE, and
   * records the callback's partner and code hash on it. True for exactly one caller.
   */
  consumeAttempt(input: AttemptConsumption): Promise<boolean>;

  /** Customer whose authorized row in `region` holds this selling partner, if any. */
  findAuthorizedCustomer(sellingPartnerId: string, region: Region): Promise<string | undefined>;

  /**
   * The seed's step 1: note the callback on the row (code envelope, MWS token when sent, and the partner unless the
   * row is authorized, so a working token is never paired with another seller's id). The partner is released from
   * other customers' rows that are not authorized. 'partner_conflict' when writing the partner would collide with
   * another customer's authorized row (the unique index decides); nothing is written then.
   */
  recordCallback(input: CallbackRecord): Promise<'recorded' | 'partner_conflict'>;

  /** Stores the refresh token and marks the attempt succeeded, in one transaction: whole or not at all. */
  completeAuthorization(input: CompletedAuthorization): Promise<'stored' | 'partner_conflict'>;

  /** Ends a consumed attempt as failed; the row gets `last_error` and, unless authorized, status `failed`. */
  failAuthorization(input: FailedAuthorization): Promise<void>;

  /** A refused callback gets a row of its own; the attempt it names (if any) and every credential row stay as they were. */
  recordRefusedCallback(input: RefusedCallback): Promise<void>;

  /**
   * Marks an authorized row `revoked` (last_error set) and records a `refresh` attempt (outcome failed, reason
   * authorization_revoked, Amazon's error), in one transaction, only while the row is authorized with exactly
   * `expectedRefreshToken`. True when it marked the row.
   */
  markRevoked(input: Revocation): Promise<boolean>;

  /** Every row's secret envelopes, for key rotation (`npm run tokens:reencrypt`). */
  listSecretEnvelopes(): Promise<SecretEnvelopes[]>;

  /** Compare-and-swap of one envelope: true when the column still held `expected` and now holds `replacement`. */
  replaceEnvelope(input: EnvelopeReplacement): Promise<boolean>;

  listCredentials(): Promise<CredentialSummary[]>;
  /** The rows of one customer, or of one selling partner, in any status (no secrets). */
  listCredentialsFor(filter: { customerId: string } | { sellingPartnerId: string }): Promise<CredentialSummary[]>;
  findCredential(customerId: string, region: Region): Promise<(CredentialSummary & CredentialSecrets) | undefined>;
  listAttempts(filter?: { customerId?: string }): Promise<AttemptRecord[]>;

  /** The ops view, ordered by days_left (soonest first, nulls last), then customer_id, region. `now` drives days_left/expired. */
  listCredentialStatus(filter: StatusFilter, now: Date): Promise<CredentialStatusRow[]>;

  /** Attempts created at or after `since`, newest first, at most `limit` (default 200). */
  listRecentAttempts(filter: { customerId?: string | undefined; since: Date; limit?: number | undefined }): Promise<AttemptRecord[]>;

  /** A cheap round trip, for /api/health. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** Column limits shared by both schemas (and checked by the contract suite). */
export const LIMITS = {
  customerId: 64,
  sellingPartnerId: 64,
  mwsAuthToken: 256,
  encryptedCode: 1024,
  encryptedRefreshToken: 4000,
  lastError: 1000,
  lwaError: 64,
  lwaErrorDescription: 500,
} as const;

export function formatLastError(failure: FailureDetails): string {
  const amazon = failure.lwaError === undefined ? '' : ` (${failure.lwaError}${failure.lwaErrorDescription ? `: ${failure.lwaErrorDescription}` : ''})`;
  return `${failure.reason}${amazon}`.slice(0, LIMITS.lastError);
}
