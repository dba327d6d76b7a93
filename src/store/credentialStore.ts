import type { Region } from '../authorization/marketplaces.js';
import type { SecretColumn } from '../crypto/tokenCipher.js';
import type { DeliveryResult, EventClaim, EventFilter, EventPurge, EventRecord } from '../events/events.js';
import type { CheckClaim, CheckResult, CredentialCheckRecord, DeadlineReminder } from '../sweep/checks.js';

/**
 * What the authorization flow needs from storage. Two implementations (SQL Server, SQLite) pass one contract suite
 * (test/contract). Correctness rests on keys and single-statement conditional updates, never on lock hints.
 * Secret columns hold TokenCipher envelopes only: the store never sees a plain refresh token or code.
 */

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
 * an attempt (website, Login URI or Appstore) never changes a status. Both stores build their SQL from this table
 * (`statusCaseSql`) and the contract suite walks every (status x event) pair.
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

/**
 * `CASE status WHEN … THEN … ELSE status END` for one event, written from STATUS_CHANGES (constants only, never
 * input), so the SQL of both stores and the table cannot disagree.
 */
export function statusCaseSql(event: StatusEvent, column = 'status'): string {
  const pairs = Object.entries(STATUS_CHANGES[event]).filter(([from, to]) => from !== to);
  if (pairs.length === 0) return column;
  return `CASE ${column} ${pairs.map(([from, to]) => `WHEN '${from}' THEN '${to}'`).join(' ')} ELSE ${column} END`;
}

/** Outcomes as stored on an attempt row. */
export const STORED_ATTEMPT_OUTCOMES = ['pending', 'succeeded', 'failed', 'refused'] as const;
/**
 * Outcomes as read: a pending attempt past its state's expiry that no callback consumed is `abandoned`; one consumed
 * whose exchange never finished (the process died) is `interrupted` once its exchange deadline has passed. Both are
 * computed from the row and the clock, never written, so no job is needed.
 */
export const ATTEMPT_OUTCOMES = [...STORED_ATTEMPT_OUTCOMES, 'abandoned', 'interrupted'] as const;
export type StoredAttemptOutcome = (typeof STORED_ATTEMPT_OUTCOMES)[number];
export type AttemptOutcome = (typeof ATTEMPT_OUTCOMES)[number];

/** The outcome an attempt reads as at `now` (see ATTEMPT_OUTCOMES). */
export function attemptOutcomeAt(
  attempt: Pick<AttemptRecord, 'outcome' | 'expiresAt' | 'consumedAt' | 'exchangeDeadline'>,
  now: Date,
): AttemptOutcome {
  if (attempt.outcome !== 'pending') return attempt.outcome;
  if (attempt.consumedAt === null) return attempt.expiresAt !== null && attempt.expiresAt.getTime() <= now.getTime() ? 'abandoned' : 'pending';
  return attempt.exchangeDeadline !== null && attempt.exchangeDeadline.getTime() <= now.getTime() ? 'interrupted' : 'pending';
}

/** Refused callbacks recorded per attempt; more are logged and counted, not stored (the audit stays bounded). */
export const MAX_REFUSALS_PER_ATTEMPT = 20;
/**
 * Attempts of one (customer, region) that may be open (unexpired, unconsumed) at once; more are refused. Counted
 * apart for the anonymous Login URI (`reauthorize`) and for the signed flows (website, appstore), so anyone who knows
 * a seller id cannot lock the seller out of authorizing from Shipica.
 */
export const MAX_OPEN_ATTEMPTS = 20;

/**
 * `website`: started by AuthorizeStart from oxWebApp's button. `reauthorize`: Seller Central > Manage Your Apps >
 * Re-Authorize, entering through the Login URI for a seller we know. `appstore`: a first install from the Appstore,
 * entering through the Login URI and identified by oxWebApp. `callback`: a refused callback, recorded on a row of its
 * own. `refresh`: an access-token refresh that found the authorization revoked (the audit of that change). `ops`: an
 * ops action on the row (`npm run ops -- unlink`). `self_authorization`: a refresh token a seller made for a private app in
 * Seller Central (Develop Apps > Authorize), imported by `npm run ops -- import-refresh-token`.
 */
export type AttemptFlow = 'website' | 'reauthorize' | 'appstore' | 'callback' | 'refresh' | 'ops' | 'self_authorization';
export type StartedFlow = Extract<AttemptFlow, 'website' | 'reauthorize' | 'appstore'>;
/**
 * Which attempts may be a row's "last attempt" (the ops view, and the attempts purge always keeps): the newest of
 * the STARTED flows, a `reauthorize` attempt counting only once a callback consumed it, since the Login URI is
 * anonymous and an unanswered request there must not hide a real outcome. An SQL condition on an attempts alias,
 * written from constants only; the views in the migrations spell out the same rule.
 */
export function lastAttemptConditionSql(alias: string): string {
  return `(${alias}.flow IN ('website', 'appstore') OR (${alias}.flow = 'reauthorize' AND ${alias}.consumed_at IS NOT NULL))`;
}

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
  /** Set when the state is consumed: by then the exchange and the write of its outcome must have finished. */
  exchangeDeadline: Date | null;
  completedAt: Date | null;
  /** As stored; read it through attemptOutcomeAt for `abandoned` and `interrupted`. */
  outcome: StoredAttemptOutcome;
  reason: string | null;
  lwaError: string | null;
  lwaErrorDescription: string | null;
  relatedAttemptId: number | null;
  /** Refused callbacks recorded against this attempt (at most MAX_REFUSALS_PER_ATTEMPT). */
  refusalCount: number;
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
  /** TokenCipher envelopes, exactly as stored (a mws_auth_token written before envelopes existed may be plain). */
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
  /** After this the attempt reads `interrupted` unless its outcome was written. */
  exchangeDeadline: Date;
}

export interface CallbackRecord {
  customerId: string;
  region: Region;
  sellingPartnerId: string;
  /** A TokenCipher envelope of the MWS token, when Amazon sent one (hybrid apps). */
  encryptedMwsAuthToken: string | undefined;
  encryptedCode: string;
  now: Date;
}

/**
 * A callback's one write before the code exchange (acceptCallback): the consumption of its attempt, the partner
 * guards of its (customer, region) and the record of the callback on that row.
 */
export interface CallbackAcceptance extends AttemptConsumption {
  /** The attempt's (customer, region): the row the callback is recorded on. */
  customerId: string;
  region: Region;
  /** A TokenCipher envelope of the MWS token, when Amazon sent one (hybrid apps). */
  encryptedMwsAuthToken: string | undefined;
  encryptedCode: string;
}

/**
 * `consumed`: the state is spent by this caller and the callback recorded. `not_consumable`: nothing written (already
 * consumed, expired, ended, or unknown). `partner_changed`: the state is spent, nothing recorded, because the row is
 * authorized for `linked`, another seller. `partner_conflict`: the state is spent, nothing recorded, because another
 * customer's authorized row in that region holds the seller.
 */
export type CallbackAcceptanceResult =
  | { kind: 'consumed' }
  | { kind: 'not_consumable' }
  | { kind: 'partner_changed'; linked: string }
  | { kind: 'partner_conflict' };

/** A Login-URI start (Re-Authorize in Seller Central, or an Appstore install of a seller we know): one store call. */
export interface LoginUriStart {
  /** The seller Amazon named: the attempt expects the callback to return this one. */
  sellingPartnerId: string;
  /** The region amazon_callback_uri's host names; undefined (a path-only URI) to look in every region. */
  region: Region | undefined;
  /** Marketplace codes the attempt may take from the linked row; any other (or none) gives way to the region's default. */
  marketplaces: readonly string[];
  /** Per region, the marketplace the attempt takes when the row's is null or not in `marketplaces`. */
  defaultMarketplaces: Readonly<Record<Region, string>>;
  stateHash: string;
  browserBindingHash: string;
  createdAt: Date;
  expiresAt: Date;
}

/**
 * `started`: exactly one row holds the seller (in `region`, when given) and a `reauthorize` attempt was inserted for
 * it. `unknown_seller`: no row holds it. `ambiguous`: rows in several regions hold it (only without `region`).
 * `too_many_open`: MAX_OPEN_ATTEMPTS anonymous attempts of that (customer, region) are open. Nothing is written but
 * on `started`.
 */
export type LoginUriStartResult =
  | { kind: 'started'; customerId: string; region: Region; marketplace: string }
  | { kind: 'unknown_seller' }
  | { kind: 'ambiguous' }
  | { kind: 'too_many_open'; customerId: string; region: Region };

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
  /** The attempt whose state the callback presented; a callback naming no known state is never stored. */
  related: AttemptRecord;
  sellingPartnerId: string | undefined;
  reason: string;
  now: Date;
}

/** A self-authorized refresh token, proven with LWA, for `importRefreshToken`. */
export interface ImportedRefreshToken {
  customerId: string;
  region: Region;
  marketplace: string;
  sellingPartnerId: string;
  /** A TokenCipher envelope of the refresh token. */
  encryptedRefreshToken: string;
  now: Date;
}

export interface Unlink {
  customerId: string;
  region: Region;
  now: Date;
}

export type UnlinkResult =
  | { kind: 'unlinked'; previousSellingPartnerId: string | null; previousStatus: CredentialStatus }
  | { kind: 'not_found' };

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
  mwsAuthToken: string | null;
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
  /** The newest attempt STARTED for the row (website, reauthorize, appstore): refused callbacks never replace it. */
  lastAttemptAt: Date | null;
  /** As read at `now`: abandoned and interrupted included. */
  lastAttemptOutcome: AttemptOutcome | null;
  lastAttemptReason: string | null;
}

export interface StatusFilter {
  customerId?: string | undefined;
  /** Only rows with days_left <= this many whole days (already expired ones included; never rows without a deadline). */
  expiringWithinDays?: number | undefined;
}

export interface HealthProbe {
  now: Date;
  /** 1-20: envelopes sampled from each end (newest, oldest). */
  sampleSize: number;
}

/** A stored refresh-token envelope and the row it is bound to (its associated data). */
export interface EnvelopeSample {
  customerId: string;
  region: Region;
  envelope: string;
}

export interface StoreHealth {
  /** Present when the heartbeat write failed: the driver's message, for the log only (never a value). */
  writeRefused?: string | undefined;
  /** Present when the schema is older than this code needs: what is missing and how to fix it. */
  schemaBehind?: string | undefined;
  samples: EnvelopeSample[];
}

/** Bounds a health probe's sample size (it is a number in a query's LIMIT/TOP). */
export function healthSampleSize(size: number): number {
  if (!Number.isSafeInteger(size) || size < 1 || size > 20) throw new Error('health sample size must be a whole number from 1 to 20');
  return size;
}

/**
 * One row of `sp_api_access_tokens`: the access token shared by every instance for (customer, region), with the
 * credential generation that made it and the refresh lease. `accessToken` is a TokenCipher envelope (AAD column
 * `access_token`); null while a first refresh is under way (the row was created by a lease claim).
 */
export interface SharedAccessToken {
  /** credentialGeneration() of the row the token was made from; null before the first token was written. */
  generation: string | null;
  accessToken: string | null;
  expiresAt: Date | null;
  /** When the token was last written (a lease claim leaves it alone). */
  refreshedAt: Date | null;
  leaseOwner: string | null;
  leaseUntil: Date | null;
}

/** What an access-token miss reads in its one round trip: the credential row and its shared token row (a join). */
export interface AccessTokenSource {
  credential: CredentialSummary & CredentialSecrets;
  shared: SharedAccessToken | undefined;
}

export interface AccessTokenLeaseClaim {
  customerId: string;
  region: Region;
  /** The claiming instance (AccessTokenService's random owner id, up to LIMITS.leaseOwner characters). */
  owner: string;
  now: Date;
  /** The lease's deadline: after it any instance may claim the lease (its owner is presumed dead). */
  until: Date;
}

export interface SharedAccessTokenWrite {
  customerId: string;
  region: Region;
  owner: string;
  /** The generation of the credential the token was made from, and the parts of it the store checks. */
  generation: string;
  sellingPartnerId: string;
  expectedRefreshToken: string;
  /** TokenCipher envelope of the access token (AAD column `access_token`). */
  accessToken: string;
  expiresAt: Date;
  now: Date;
}

export interface CredentialStore {
  /**
   * Inserts the attempt, in one transaction with the seed's step 1 for the signed flows (website, appstore): a
   * `pending` row for (customer, region) when none exists, else only `auth_requested_date` (and updated_at). A
   * `reauthorize` attempt (the anonymous Login URI) writes no credential column at all. No status ever changes here.
   * 'too_many_open' (nothing written) when MAX_OPEN_ATTEMPTS attempts of that (customer, region) are still open
   * (anonymous `reauthorize` attempts and signed ones counted apart).
   */
  startAuthorization(attempt: NewAttempt): Promise<'started' | 'too_many_open'>;

  /**
   * The Login URI's start, in one transaction: the rows holding `sellingPartnerId` (in `region`, when given), and when
   * exactly one does, startAuthorization's `reauthorize` attempt for it (same open-attempt cap; no credential column
   * written). The attempt's marketplace is the row's when listed in `marketplaces`, else the region's default.
   */
  startLoginUriAttempt(input: LoginUriStart): Promise<LoginUriStartResult>;

  findAttemptByStateHash(stateHash: string): Promise<AttemptRecord | undefined>;

  /**
   * Marks the attempt consumed when it is unconsumed and unexpired at `now`, in one conditional UPDATE, and
   * records the callback's partner and code hash on it. True for exactly one caller. The flow uses it alone only
   * where the callback must not be recorded (a Login-URI attempt that returned another seller than it expects).
   */
  consumeAttempt(input: AttemptConsumption): Promise<boolean>;

  /**
   * A callback's write before the code exchange, in one transaction: consumes the attempt as consumeAttempt does
   * (and only a `pending` one), then, in this order, answers `partner_changed` when the (customer, region) row is
   * authorized for another seller, `partner_conflict` when another customer's authorized row in the region holds the
   * seller (both keep the consumption and record nothing), else records the callback as recordCallback does. A write
   * the partner index refuses all the same (a concurrent authorization) answers `partner_conflict` with only the
   * consumption kept. See CallbackAcceptanceResult.
   */
  acceptCallback(input: CallbackAcceptance): Promise<CallbackAcceptanceResult>;

  /**
   * The seed's step 1: note the callback on the row (code envelope, MWS token when sent, and the partner unless the
   * row is authorized, so a working token is never paired with another seller's id). The partner is released from
   * other customers' rows that are not authorized. 'partner_conflict' when writing the partner would collide with
   * another customer's authorized row (the unique index decides); nothing is written then. The flow records through
   * acceptCallback; this step alone stays for building rows in the contract and migration tests.
   */
  recordCallback(input: CallbackRecord): Promise<'recorded' | 'partner_conflict'>;

  /**
   * Stores the refresh token, moves the status by STATUS_CHANGES.succeeded and marks the attempt succeeded, in one
   * transaction: whole or not at all. 'partner_changed' (nothing written) when the row is authorized for another
   * seller by then (two attempts with two sellers racing: the first to finish keeps the row); 'partner_conflict' when
   * another customer's authorized row holds this seller.
   */
  completeAuthorization(input: CompletedAuthorization): Promise<'stored' | 'partner_conflict' | 'partner_changed'>;

  /** Ends a consumed attempt as failed; the row gets `last_error` and moves by STATUS_CHANGES.failed. */
  failAuthorization(input: FailedAuthorization): Promise<void>;

  /**
   * A refused callback gets a row of its own, related to the attempt it names, while that attempt has fewer than
   * MAX_REFUSALS_PER_ATTEMPT (counted on the attempt in the same statement). True when recorded. The attempt's
   * outcome and every credential row stay as they were.
   */
  recordRefusedCallback(input: RefusedCallback): Promise<boolean>;

  /**
   * Ops: clears the link of (customer, region) (selling partner, refresh token, code and MWS token), moves the status
   * by STATUS_CHANGES.unlinked and records an attempt (flow `ops`, outcome succeeded, reason `unlinked`, the previous
   * seller), in one transaction.
   */
  unlinkCredential(input: Unlink): Promise<UnlinkResult>;

  /**
   * Deletes (or counts, on a dry run) up to `limit` ended attempts created before `olderThan`: any outcome but
   * pending, or pending and abandoned/interrupted at `now`. Never a credential row, never the newest started attempt
   * of a (customer, region). Returns how many; call again until it returns less than `limit`.
   */
  purgeAttempts(input: AttemptPurge): Promise<number>;

  /**
   * True for a failure that may pass if tried again shortly (the database locked or busy, a deadlock victim, a lock
   * timeout, a dropped connection): the flow retries the write that stores a refresh token on these.
   */
  isTransientError(error: unknown): boolean;

  /**
   * Marks an authorized row `revoked` (last_error set) and records a `refresh` attempt (outcome failed, reason
   * authorization_revoked, Amazon's error), in one transaction, only while the row is authorized with exactly
   * `expectedRefreshToken`. True when it marked the row.
   */
  markRevoked(input: Revocation): Promise<boolean>;

  /** Every row's secret envelopes, for key rotation (`npm run tokens:reencrypt`) and sealing legacy plain MWS tokens. */
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

  /**
   * The credential row of (customer, region) with its `sp_api_access_tokens` row, in ONE read (a join); undefined
   * when there is no credential row.
   */
  readAccessTokenSource(customerId: string, region: Region): Promise<AccessTokenSource | undefined>;

  /**
   * Claims the refresh lease of (customer, region) in one conditional statement (an UPDATE, or the INSERT of the row
   * when it has none yet): only when nobody holds an unexpired lease or the lease is already `owner`'s. True for the
   * winner. False, too, when the credential row is missing.
   */
  claimAccessTokenLease(input: AccessTokenLeaseClaim): Promise<boolean>;

  /**
   * Writes the token, its generation and expiry and clears the lease in one conditional statement: only while
   * `owner` still holds the lease and the credential row is still authorized for exactly `sellingPartnerId` with
   * `expectedRefreshToken` (the generation unchanged). True when written.
   */
  storeSharedAccessToken(input: SharedAccessTokenWrite): Promise<boolean>;

  /** Gives the lease up (a refresh that failed), only while `owner` holds it. */
  releaseAccessTokenLease(input: { customerId: string; region: Region; owner: string }): Promise<void>;

  // ---- the events outbox (sp_api_events). completeAuthorization (authorization.granted, or .reauthorized when the row
  // was authorized before), markRevoked (.revoked), failAuthorization (.failed, when the row's status is failed
  // afterwards) and unlinkCredential (.unlinked) write their event in their own transaction.

  /**
   * Claims up to `limit` events due for delivery at `now`: for each (customer, region) only its oldest pending event
   * (so events reach oxWebApp in order per seller), and only when its next_attempt_at has come. Claimed events get
   * next_attempt_at = `leaseUntil`, in the same statement, so two deliverers at once do not both take one.
   */
  claimDueEvents(claim: EventClaim): Promise<EventRecord[]>;

  /** Writes the outcome of one delivery try: delivered, to be tried again at a time, or given up (failed). */
  recordDelivery(result: DeliveryResult): Promise<void>;

  /** Deletes (or counts) up to `limit` DELIVERED events that occurred before `olderThan`; returns how many. */
  purgeEvents(purge: EventPurge): Promise<number>;

  /** Events by id, oldest first (default limit 200, at most 1000). */
  listEvents(filter?: EventFilter): Promise<EventRecord[]>;

  /**
   * Stores a self-authorized refresh token as an authorization (status by STATUS_CHANGES.succeeded, the grant dates,
   * a `self_authorization` attempt that succeeded, and its granted/reauthorized event), in one transaction.
   * 'partner_changed' (nothing written) when the row is authorized for another seller; 'partner_conflict' when
   * another customer's authorized row holds this seller in the region.
   */
  importRefreshToken(input: ImportedRefreshToken): Promise<'stored' | 'partner_changed' | 'partner_conflict'>;

  // ---- the credential sweep (sp_api_credential_checks) -----------------------------------------------------------

  /**
   * Takes the sweep's lease on (customer, region) when no other sweep holds it and no sweep checked the row since
   * `runStartedAt` (creating the check row when missing). True for exactly one of two sweeps running at once.
   */
  claimCredentialCheck(claim: CheckClaim): Promise<boolean>;

  /**
   * Records a check and releases the lease, in one transaction: the outcome, what SP-API answered (verified_at,
   * marketplaces, store name) when it answered, the flag the outcome sets, and `flagEvent` when that flag is new.
   */
  recordCredentialCheck(result: CheckResult): Promise<void>;

  /**
   * Writes the reminder's event once per threshold and grant (a looser threshold never after a tighter one), only
   * while the row is authorized with that grant, in one transaction. True when it wrote the event.
   */
  recordDeadlineReminder(reminder: DeadlineReminder): Promise<boolean>;

  /** The check rows, by customer and region. */
  listCredentialChecks(filter?: { customerId?: string | undefined }): Promise<CredentialCheckRecord[]>;

  /** A cheap round trip, for /api/health. */
  ping(): Promise<void>;

  /**
   * /api/health's one round trip: moves the heartbeat row (service_heartbeat, id 1) to `now` (a write, so a read-only
   * or write-refusing store shows), compares the schema with what this code needs, and returns a sample of stored
   * refresh-token envelopes (up to `sampleSize` newest and `sampleSize` oldest by lwa_refresh_token_date) for the
   * caller to try with its keys. A refused write or a schema behind is answered, not thrown; throws only when the
   * store does not answer at all.
   */
  checkHealth(probe: HealthProbe): Promise<StoreHealth>;
  close(): Promise<void>;
}

/** Column limits shared by both schemas (and checked by the contract suite). */
export const LIMITS = {
  customerId: 64,
  sellingPartnerId: 64,
  /** The MWS token as Amazon sends it; stored as an envelope of up to encryptedMwsAuthToken characters. */
  mwsAuthToken: 256,
  encryptedMwsAuthToken: 1024,
  encryptedCode: 1024,
  /** VARCHAR(8000): LWA documents tokens of up to 2048 bytes; the longest accepted token's envelope must fit. */
  encryptedRefreshToken: 8000,
  lastError: 1000,
  lwaError: 64,
  lwaErrorDescription: 500,
  /** sp_api_access_tokens: the access-token envelope, the generation text, the lease owner id. */
  encryptedAccessToken: 8000,
  credentialGeneration: 160,
  leaseOwner: 64,
} as const;

export function formatLastError(failure: FailureDetails): string {
  const amazon = failure.lwaError === undefined ? '' : ` (${failure.lwaError}${failure.lwaErrorDescription ? `: ${failure.lwaErrorDescription}` : ''})`;
  return `${failure.reason}${amazon}`.slice(0, LIMITS.lastError);
}
