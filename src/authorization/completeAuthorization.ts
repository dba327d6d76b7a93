import { timingSafeEqual } from 'node:crypto';
import type { LwaFailure } from '../lwa/lwaResult.js';
import {
  attemptOutcomeAt,
  credentialGeneration,
  delay,
  describeError,
  LIMITS,
  type AccessToken,
  type AttemptRecord,
  type AuthorizationStore,
  type Clock,
  type CredentialGeneration,
  type CredentialScope,
  type Logger,
  type Region,
  type SharedAccessTokenSeed,
} from '../credentials/index.js';
import type { Settings } from '../config/settings.js';
import type { TokenCipher } from '../crypto/tokenCipher.js';
import type { LwaClient } from '../lwa/lwaClient.js';
import type { CallbackParams, ParsedCallback } from './callbackQuery.js';
import type { CallbackOutcome, FailureReason, PartnerSwitch, RefusalReason } from './outcomes.js';
import { isFailureReason } from './outcomes.js';
import { isVendorId } from './identifiers.js';
import { bindingCookieName, sha256Hex } from './state.js';
import { retryTransient, type Written } from './storeRetry.js';
import type { UnknownStateLog } from './unknownStates.js';

/** LWA codes live 5 minutes; retries stop a minute short of that. */
export const CODE_EXCHANGE_WINDOW_MS = 4 * 60 * 1000;

/**
 * When a consumed attempt must have its outcome written: the exchange's window, then the store retries, then a
 * margin. Past it, a pending consumed attempt reads `interrupted` (the process died between the two).
 */
export function exchangeDeadline(consumedAt: Date, storeRetryMs: number): Date {
  return new Date(consumedAt.getTime() + CODE_EXCHANGE_WINDOW_MS + storeRetryMs + 10_000);
}

/** How long after giving up on a write the attempt's storage_error outcome is still retried in the background. */
const OUTCOME_RETRY_MS = 15 * 60 * 1000;

export interface CompleteDeps {
  settings: Pick<Settings, 'redirectUri' | 'storeRetryMs'>;
  store: AuthorizationStore;
  lwa: Pick<LwaClient, 'exchangeCode'>;
  cipher: TokenCipher;
  clock: Clock;
  logger: Logger;
  /** The access token that comes with the refresh token seeds this process's cache (access tokens stay in memory). */
  tokenCache?: { set(token: AccessToken, generation: CredentialGeneration): void };
  /** How long a duplicate callback waits for the first one's exchange to finish. */
  duplicateWaitMs: number;
  /** Callbacks naming no state we issued: counted and logged at a bounded rate, never stored. */
  unknownStates: UnknownStateLog;
  sleep?: (ms: number) => Promise<void>;
}

/** Reads the browser-binding cookie for a state; the handler supplies it from the request's Cookie header. */
export type CookieReader = (name: string) => string | undefined;

/** LWACallback: check the state and the browser, consume the state once, exchange the code, store the token. */
export async function completeAuthorization(deps: CompleteDeps, callback: ParsedCallback, cookies: CookieReader): Promise<CallbackOutcome> {
  try {
    return await complete(deps, callback, cookies);
  } catch (error) {
    deps.logger.error('authorization callback could not reach the store', { error: describeError(error) });
    return storageError(undefined);
  }
}

type ConsumableAttempt = AttemptRecord & { customerId: string; scope: CredentialScope; region: Region };

async function complete(deps: CompleteDeps, callback: ParsedCallback, cookies: CookieReader): Promise<CallbackOutcome> {
  const { store, clock } = deps;
  if (!callback.ok) {
    const related = callback.state === undefined ? undefined : await store.findAttemptByStateHash(sha256Hex(callback.state));
    return refuse(deps, 'callback_invalid', related, callback.sellingPartnerId);
  }
  const { params } = callback;
  const stateHash = sha256Hex(params.state);
  const attempt = await store.findAttemptByStateHash(stateHash);
  if (attempt === undefined || attempt.customerId === null || attempt.scope === null || attempt.region === null) {
    return refuse(deps, 'state_invalid', undefined, params.sellingPartnerId);
  }
  const known: ConsumableAttempt = { ...attempt, customerId: attempt.customerId, scope: attempt.scope, region: attempt.region };
  const sameBrowser = browserMatches(attempt, cookies(bindingCookieName(stateHash)));
  const codeHash = sha256Hex(params.code);
  // Consumed, or ended without being consumed (its one write failed and the attempt was closed as storage_error).
  if (attempt.consumedAt !== null || attempt.outcome !== 'pending') return settleRepeat(deps, known, { sameBrowser, codeHash, sellingPartnerId: params.sellingPartnerId });

  // Expiry first: the cookie outlives the state, and "too late" is what happened whether or not it is still there.
  const now = clock.now();
  if (attempt.expiresAt === null || attempt.expiresAt.getTime() <= now.getTime()) {
    return refuse(deps, 'state_expired', attempt, params.sellingPartnerId);
  }
  if (!sameBrowser) return refuse(deps, 'browser_mismatch', attempt, params.sellingPartnerId);
  if (isVendorId(params.sellingPartnerId)) return refuse(deps, 'vendor_not_supported', attempt, params.sellingPartnerId);

  const deadline = exchangeDeadline(now, deps.settings.storeRetryMs);
  const consumption = { stateHash, now, sellingPartnerId: params.sellingPartnerId, codeHash, exchangeDeadline: deadline };
  const notConsumable = async (): Promise<CallbackOutcome> => {
    // Another request consumed it between our read and our update (or it expired just now): ask the store again.
    const current = await store.findAttemptByStateHash(stateHash);
    if (current?.consumedAt != null || (current !== undefined && current.outcome !== 'pending')) {
      return settleRepeat(deps, { ...current, customerId: known.customerId, scope: known.scope, region: known.region }, { sameBrowser, codeHash, sellingPartnerId: params.sellingPartnerId });
    }
    return refuse(deps, 'state_expired', attempt, params.sellingPartnerId);
  };

  // Login-URI flows name their seller up front: Amazon must return that one. The state is spent, nothing recorded.
  if (attempt.expectedSellingPartnerId !== null && attempt.expectedSellingPartnerId !== params.sellingPartnerId) {
    if (!(await store.consumeAttempt(consumption))) return notConsumable();
    return failAttempt(deps, known, 'partner_mismatch', undefined);
  }

  const { customerId, scope, region } = known;
  const encryptedMwsAuthToken =
    params.mwsAuthToken === undefined ? undefined : deps.cipher.encrypt(params.mwsAuthToken, { column: 'mws_auth_token', customerId, region });
  const encryptedCode = deps.cipher.encrypt(params.code, { column: 'spapi_oauth_code', customerId, region });
  // One write spends the state, applies the partner guards, records the callback and claims the seller (in this
  // scope) until the exchange's deadline, so a concurrent callback of another customer is refused before it spends
  // its code. The code is unspent and lives 5 minutes: a store that is briefly locked is waited out, not a reason to lose it.
  const accepted = await withStoreRetry(deps, () => store.acceptCallback({ ...consumption, customerId, scope, encryptedMwsAuthToken, encryptedCode }));
  if (!accepted.ok) {
    // Whether or not the state was spent, the attempt must end (as soon as the store answers), or every reload would
    // wait for an exchange that is not running.
    deps.logger.error('authorization could not be completed: the store failed', { customerId, scope, attemptId: known.attemptId, error: describeError(accepted.error) });
    endInBackground(deps, known, { reason: 'storage_error' });
    return storageError(known);
  }
  switch (accepted.value.kind) {
    case 'not_consumable':
      return notConsumable();
    // Switching a (customer, scope) to another seller is explicit (ops unlink): a working token is never replaced
    // by another seller's in passing.
    case 'partner_changed':
      return failAttempt(deps, known, 'partner_changed', undefined, { linked: accepted.value.linked, returned: params.sellingPartnerId, scope });
    case 'partner_conflict':
      return failAttempt(deps, known, 'partner_conflict', undefined);
    case 'consumed':
      break;
  }
  try {
    return await exchange(deps, known, params, now);
  } catch (error) {
    // The state is spent: whatever failed, the attempt must end (as soon as the store answers), or every reload
    // would wait for an exchange that is not running.
    deps.logger.error('authorization could not be completed: the store failed', {
      customerId: known.customerId,
      scope: known.scope,
      attemptId: known.attemptId,
      error: describeError(error),
    });
    endInBackground(deps, known, { reason: 'storage_error' });
    return storageError(known);
  }
}

/** The state is spent and the callback recorded: exchange the code, store the refresh token. */
async function exchange(deps: CompleteDeps, attempt: ConsumableAttempt, params: CallbackParams, now: Date): Promise<CallbackOutcome> {
  const { store, cipher, logger } = deps;
  const { customerId, scope, region } = attempt;
  const marketplace = attempt.marketplace ?? '';
  const partner = params.sellingPartnerId;
  const fail = (reason: FailureReason, lwa?: LwaFailure, partners?: PartnerSwitch): Promise<CallbackOutcome> =>
    failAttempt(deps, attempt, reason, lwa, partners);

  const grant = await deps.lwa.exchangeCode({
    code: params.code,
    redirectUri: deps.settings.redirectUri,
    deadline: new Date(now.getTime() + CODE_EXCHANGE_WINDOW_MS),
  });
  if (!grant.ok) return fail(failureReasonFor(grant.failure), grant.failure);

  // Amazon has issued a refresh token: from here nothing is awaited but its encryption and its write.
  const encryptedRefreshToken = cipher.encrypt(grant.value.refreshToken, { column: 'lwa_refresh_token', customerId, region });
  const generation = credentialGeneration({ status: 'authorized', sellingPartnerId: partner, lwaRefreshToken: encryptedRefreshToken });
  const token: AccessToken = {
    accessToken: grant.value.accessToken,
    expiresAt: new Date(now.getTime() + grant.value.expiresIn * 1000),
    customerId,
    sellingPartnerId: partner,
    scope,
    region,
  };
  // The access token that came with the refresh token serves the whole fleet, written with the grant.
  const sharedAccessToken: SharedAccessTokenSeed = {
    accessToken: cipher.encrypt(token.accessToken, { column: 'access_token', customerId, region }),
    generation,
    expiresAt: token.expiresAt,
  };
  const stored = await withStoreRetry(deps, () =>
    store.completeAuthorization({
      attemptId: attempt.attemptId,
      customerId,
      scope,
      marketplace,
      sellingPartnerId: partner,
      encryptedRefreshToken,
      refreshTokenFingerprint: cipher.fingerprint(grant.value.refreshToken),
      sharedAccessToken,
      now: deps.clock.now(),
    }),
  );
  if (!stored.ok) {
    logger.error('a refresh token Amazon issued could not be stored: the seller must authorize again', {
      customerId,
      scope,
      attemptId: attempt.attemptId,
      error: describeError(stored.error),
    });
    endInBackground(deps, attempt, { reason: 'storage_error' });
    return storageError(attempt);
  }
  if (stored.value === 'partner_conflict') return fail('partner_conflict');
  if (stored.value === 'partner_changed') {
    // Another attempt authorized another seller for this row while this one was exchanging: the first kept it.
    const now = (await store.listCredentialsFor({ customerId })).find((row) => row.scope === scope);
    logger.warn('a refresh token Amazon issued was not stored: the row was authorized for another seller meanwhile', { customerId, scope, attemptId: attempt.attemptId });
    return fail('partner_changed', undefined, { linked: now?.sellingPartnerId ?? '', returned: partner, scope });
  }
  deps.tokenCache?.set(token, generation);
  logger.info('authorization succeeded', { customerId, scope, marketplace, sellingPartnerId: partner });
  return { kind: 'authorized', customerId, scope, marketplace, sellingPartnerId: partner };
}

/** The store failed: the seller is told to start again (the state is spent or could not be checked). */
function storageError(attempt: Pick<AttemptRecord, 'marketplace'> | undefined): CallbackOutcome {
  return { kind: 'failed', reason: 'storage_error', marketplace: attempt?.marketplace ?? undefined, lwaError: undefined };
}

function failureReasonFor(failure: LwaFailure): FailureReason {
  switch (failure.kind) {
    case 'invalid_grant':
      return 'code_rejected';
    case 'invalid_client':
    case 'client_error':
      return 'lwa_client_error';
    case 'unavailable':
      return 'lwa_unavailable';
  }
}

/** The store writes of a callback: retried while the store is briefly unavailable, for up to STORE_RETRY_MS. */
function withStoreRetry<T>(deps: CompleteDeps, write: () => Promise<T>): Promise<Written<T>> {
  return retryTransient(write, { store: deps.store, sleep: deps.sleep ?? delay, firstPauseMs: 25, maxPauseMs: 1_000, forMs: deps.settings.storeRetryMs });
}

/**
 * After the seller has been told, keeps trying to end the attempt as failed while the store stays unavailable, so
 * the row and the ops view say what happened as soon as the store answers again (a process that dies meanwhile
 * leaves the attempt to read `interrupted`).
 */
function endInBackground(deps: CompleteDeps, attempt: ConsumableAttempt, failure: { reason: FailureReason }): void {
  const { attemptId, customerId, scope } = attempt;
  const write = () => deps.store.failAuthorization({ attemptId, customerId, scope, failure, now: deps.clock.now() });
  void retryTransient(write, { store: deps.store, sleep: deps.sleep ?? delay, firstPauseMs: 100, maxPauseMs: 5_000, forMs: OUTCOME_RETRY_MS }).then((written) => {
    if (!written.ok) {
      deps.logger.error('the failed authorization could not be recorded; the attempt will read interrupted', { customerId, scope, attemptId, error: describeError(written.error) });
    }
  });
}

async function failAttempt(
  deps: CompleteDeps,
  attempt: ConsumableAttempt,
  reason: FailureReason,
  lwa: LwaFailure | undefined,
  partners?: PartnerSwitch,
): Promise<CallbackOutcome> {
  const { customerId, scope } = attempt;
  const fields = { customerId, scope, reason, lwaError: lwa?.error ?? null, status: lwa?.status ?? null, lwaAttempts: lwa?.attempts ?? null };
  // Our own request being refused is an incident for Shipica, not something the seller can fix. (invalid_client is
  // the incident monitor's: one signal for the fleet, raised through the LWA client.)
  if (reason === 'lwa_client_error' && lwa?.kind !== 'invalid_client') {
    deps.logger.error('LWA refused the code exchange: check LWA_CLIENT_ID and that SPAPI_REDIRECT_URI is registered with Amazon', fields);
  } else deps.logger.warn('authorization failed', fields);
  const failure = {
    reason,
    lwaError: lwa?.error?.slice(0, LIMITS.lwaError),
    lwaErrorDescription: lwa?.description?.slice(0, LIMITS.lwaErrorDescription),
  };
  const written = await withStoreRetry(deps, () => deps.store.failAuthorization({ attemptId: attempt.attemptId, customerId, scope, failure, now: deps.clock.now() }));
  if (!written.ok) {
    deps.logger.error('the failed authorization could not be recorded yet', { customerId, scope, attemptId: attempt.attemptId, error: describeError(written.error) });
    endInBackground(deps, attempt, failure);
  }
  return { kind: 'failed', reason, marketplace: attempt.marketplace ?? undefined, lwaError: lwa?.error, partners };
}

/**
 * A callback for a state that is already consumed. In another browser: only that the link was used (nothing about
 * its outcome, never a failure). In the same browser (a reload, a double click, Back + Confirm): the attempt's own
 * outcome, once its exchange has finished, without a second exchange; a different code is also recorded as a replay.
 */
async function settleRepeat(
  deps: CompleteDeps,
  attempt: ConsumableAttempt,
  seen: { sameBrowser: boolean; codeHash: string; sellingPartnerId: string },
): Promise<CallbackOutcome> {
  const marketplace = attempt.marketplace ?? undefined;
  if (!seen.sameBrowser) {
    await refuse(deps, 'state_replayed', attempt, seen.sellingPartnerId);
    return { kind: 'already_used', marketplace };
  }
  const sleep = deps.sleep ?? delay;
  const waitUntil = Date.now() + deps.duplicateWaitMs;
  let current: AttemptRecord | undefined = attempt;
  const open = (a: AttemptRecord | undefined): a is AttemptRecord => a !== undefined && attemptOutcomeAt(a, deps.clock.now()) === 'pending';
  for (let pause = 25; open(current) && Date.now() < waitUntil; pause = Math.min(pause * 2, 500)) {
    await sleep(pause);
    current = await deps.store.findAttemptByStateHash(attempt.stateHash ?? '');
  }
  if (attempt.codeHash !== null && attempt.codeHash !== seen.codeHash) await refuse(deps, 'state_replayed', attempt, seen.sellingPartnerId);
  if (current === undefined) return { kind: 'interrupted', marketplace };
  const outcome = attemptOutcomeAt(current, deps.clock.now());
  if (outcome === 'pending') return { kind: 'in_progress', marketplace };
  if (outcome === 'succeeded' && current.sellingPartnerId !== null) {
    return { kind: 'authorized', customerId: attempt.customerId, scope: attempt.scope, marketplace: current.marketplace ?? '', sellingPartnerId: current.sellingPartnerId };
  }
  if (outcome === 'failed') {
    const reason: FailureReason = isFailureReason(current.reason) ? current.reason : 'storage_error';
    return { kind: 'failed', reason, marketplace, lwaError: current.lwaError ?? undefined };
  }
  return { kind: 'interrupted', marketplace };
}

/**
 * Refuses a callback. Tied to an attempt we issued, the refusal is recorded against it (at most
 * MAX_REFUSALS_PER_ATTEMPT); naming no such attempt, it is only counted and logged at a bounded rate.
 */
async function refuse(
  deps: CompleteDeps,
  reason: RefusalReason,
  related: AttemptRecord | undefined,
  sellingPartnerId: string | undefined,
): Promise<CallbackOutcome> {
  if (related === undefined || related.customerId === null) {
    deps.unknownStates.note(deps.logger, reason);
    return { kind: 'refused', reason, marketplace: undefined };
  }
  deps.logger.warn('authorization callback refused', { reason, customerId: related.customerId, scope: related.scope, attemptId: related.attemptId });
  await deps.store.recordRefusedCallback({ related, sellingPartnerId, reason, now: deps.clock.now() });
  return { kind: 'refused', reason, marketplace: related.marketplace ?? undefined };
}

function browserMatches(attempt: AttemptRecord, cookie: string | undefined): boolean {
  if (cookie === undefined || attempt.browserBindingHash === null) return false;
  const given = Buffer.from(sha256Hex(cookie), 'hex');
  const expected = Buffer.from(attempt.browserBindingHash, 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}
