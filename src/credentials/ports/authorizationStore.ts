import type { AttemptRecord, NewAttempt } from '../attempts.js';
import type { CredentialSummary } from '../credential.js';
import type { FailureDetails } from '../limits.js';
import type { CredentialScope } from '../marketplaces.js';

/**
 * What the authorization flows (AuthorizeStart, the Login URI, LWACallback) need from storage. Correctness rests on
 * keys and single-statement conditional updates, never on lock hints; each method is one round trip.
 */
export interface AuthorizationStore {
  /**
   * Inserts the attempt, in one transaction with the seed's step 1 for the signed flows (website, appstore): a
   * `pending` row for (customer, scope) when none exists, else only `auth_requested_date` (and updated_at). A
   * `reauthorize` attempt (the anonymous Login URI) writes no credential column at all. No status ever changes here.
   * 'too_many_open' (nothing written) when MAX_OPEN_ATTEMPTS attempts of that (customer, scope) are still open
   * (anonymous `reauthorize` attempts and signed ones counted apart).
   */
  startAuthorization(attempt: NewAttempt): Promise<'started' | 'too_many_open'>;

  /**
   * The Login URI's start, in one transaction: the rows holding `sellingPartnerId` (in `scope`, when given), and when
   * exactly one does, startAuthorization's `reauthorize` attempt for it (same open-attempt cap; no credential column
   * written). The attempt's marketplace is the row's when listed in `marketplaces`, else the scope's default.
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
   * (and only a `pending` one), then, in this order, answers `partner_changed` when the (customer, scope) row is
   * authorized for another seller or claimed by another callback's exchange in flight, `partner_conflict` when
   * another customer's row in the scope holds the seller authorized or claimed (both keep the consumption and record
   * nothing), else records the callback as recordCallback does and claims the seller for this exchange until
   * `exchangeDeadline`, so a concurrent callback of another customer is refused before it spends its code. A write
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

  /** The rows of one customer, or of one selling partner, in any status (no secrets). */
  listCredentialsFor(filter: { customerId: string } | { sellingPartnerId: string }): Promise<CredentialSummary[]>;

  /**
   * True for a failure that may pass if tried again shortly (the database locked or busy, a deadlock victim, a lock
   * timeout, a dropped connection): the flow retries the write that stores a refresh token on these.
   */
  isTransientError(error: unknown): boolean;
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
  scope: CredentialScope;
  sellingPartnerId: string;
  /** A TokenCipher envelope of the MWS token, when Amazon sent one (hybrid apps). */
  encryptedMwsAuthToken: string | undefined;
  encryptedCode: string;
  now: Date;
}

/**
 * A callback's one write before the code exchange (acceptCallback): the consumption of its attempt, the partner
 * guards of its (customer, scope) and the record of the callback on that row.
 */
export interface CallbackAcceptance extends AttemptConsumption {
  /** The attempt's (customer, scope): the row the callback is recorded on. */
  customerId: string;
  scope: CredentialScope;
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
  /** The scope amazon_callback_uri's host serves; undefined (a path-only URI) to look in every scope. */
  scope: CredentialScope | undefined;
  /** Marketplace codes the attempt may take from the linked row; any other (or none) gives way to the scope's default. */
  marketplaces: readonly string[];
  /** Per scope, the marketplace the attempt takes when the row's is null or not in `marketplaces`. */
  defaultMarketplaces: Readonly<Record<CredentialScope, string>>;
  stateHash: string;
  browserBindingHash: string;
  createdAt: Date;
  expiresAt: Date;
}

/**
 * `started`: exactly one row holds the seller (in `scope`, when given) and a `reauthorize` attempt was inserted for
 * it. `unknown_seller`: no row holds it. `ambiguous`: rows in several scopes hold it (only without `scope`).
 * `too_many_open`: MAX_OPEN_ATTEMPTS anonymous attempts of that (customer, scope) are open. Nothing is written but
 * on `started`.
 */
export type LoginUriStartResult =
  | { kind: 'started'; customerId: string; scope: CredentialScope; marketplace: string }
  | { kind: 'unknown_seller' }
  | { kind: 'ambiguous' }
  | { kind: 'too_many_open'; customerId: string; scope: CredentialScope };

export interface CompletedAuthorization {
  attemptId: number;
  customerId: string;
  scope: CredentialScope;
  marketplace: string;
  sellingPartnerId: string;
  encryptedRefreshToken: string;
  /** The refresh token's keyed fingerprint (see TokenCipher.fingerprint): one token, one credential. */
  refreshTokenFingerprint: string;
  /** The access token the exchange returned, for the whole fleet (sp_api_access_tokens), in the same transaction. */
  sharedAccessToken: SharedAccessTokenSeed | undefined;
  now: Date;
}

/** An access token to share with the fleet, sealed, with the generation it belongs to. */
export interface SharedAccessTokenSeed {
  /** TokenCipher envelope (AAD column `access_token`). */
  accessToken: string;
  generation: string;
  expiresAt: Date;
}

export interface FailedAuthorization {
  attemptId: number;
  customerId: string;
  scope: CredentialScope;
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
