import { timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { credentialGeneration, type AccessTokenCache } from '../accessTokens/accessTokenCache.js';
import type { Settings } from '../config/settings.js';
import type { TokenCipher } from '../crypto/tokenCipher.js';
import type { LwaFailure, LwaClient } from '../lwa/lwaClient.js';
import { LIMITS, type AttemptRecord, type CredentialStore } from '../store/credentialStore.js';
import type { Region } from './marketplaces.js';
import type { CallbackOutcome, FailureReason, RefusalReason } from './outcomes.js';
import { isFailureReason } from './outcomes.js';
import { SELLING_PARTNER_ID_PATTERN } from './identifiers.js';
import { delay, describeError, type Clock, type Logger } from './ports.js';
import { bindingCookieName, isWellFormedState, sha256Hex, STATE_PATTERN } from './state.js';

/** LWA codes live 5 minutes; retries stop a minute short of that. */
export const CODE_EXCHANGE_WINDOW_MS = 4 * 60 * 1000;

export interface CompleteDeps {
  settings: Pick<Settings, 'redirectUri'>;
  store: CredentialStore;
  lwa: Pick<LwaClient, 'exchangeCode'>;
  cipher: TokenCipher;
  clock: Clock;
  logger: Logger;
  /** The access token that comes with the refresh token seeds this process's cache (access tokens stay in memory). */
  tokenCache?: Pick<AccessTokenCache, 'set'>;
  /** How long a duplicate callback waits for the first one's exchange to finish. */
  duplicateWaitMs: number;
  sleep?: (ms: number) => Promise<void>;
}

/** What Amazon sends to the redirect URI. Bounds are generous but finite: nothing unbounded reaches the store. */
const callbackSchema = z.object({
  state: z.string().regex(STATE_PATTERN),
  selling_partner_id: z.string().regex(SELLING_PARTNER_ID_PATTERN),
  // LWA codes are ~20 characters; 512 keeps the encrypted copy on the row well inside its column.
  spapi_oauth_code: z.string().regex(/^[\x21-\x7e]{1,512}$/),
  mws_auth_token: z.string().regex(new RegExp(`^[\\x21-\\x7e]{1,${LIMITS.mwsAuthToken}}$`)).optional(),
});

export interface CallbackParams {
  state: string;
  sellingPartnerId: string;
  code: string;
  mwsAuthToken: string | undefined;
}

export type ParsedCallback =
  | { ok: true; params: CallbackParams }
  | { ok: false; state: string | undefined; sellingPartnerId: string | undefined };

/** Each parameter must appear once; a repeated one is as malformed as a missing one. */
export function parseCallbackQuery(query: URLSearchParams): ParsedCallback {
  const single = (name: string): string | undefined => {
    const all = query.getAll(name);
    return all.length === 1 ? all[0] : undefined;
  };
  const raw = {
    state: single('state'),
    selling_partner_id: single('selling_partner_id'),
    spapi_oauth_code: single('spapi_oauth_code'),
    mws_auth_token: query.getAll('mws_auth_token').length > 1 ? '' : single('mws_auth_token'),
  };
  const parsed = callbackSchema.safeParse(raw);
  if (parsed.success) {
    const { state, selling_partner_id, spapi_oauth_code, mws_auth_token } = parsed.data;
    return { ok: true, params: { state, sellingPartnerId: selling_partner_id, code: spapi_oauth_code, mwsAuthToken: mws_auth_token } };
  }
  const partner = raw.selling_partner_id;
  return {
    ok: false,
    state: raw.state !== undefined && isWellFormedState(raw.state) ? raw.state : undefined,
    sellingPartnerId: partner !== undefined && SELLING_PARTNER_ID_PATTERN.test(partner) ? partner : undefined,
  };
}

/** Reads the browser-binding cookie for a state; the handler supplies it from the request's Cookie header. */
export type CookieReader = (name: string) => string | undefined;

/** LWACallback: check the state and the browser, consume the state once, exchange the code, store the token. */
export async function completeAuthorization(deps: CompleteDeps, callback: ParsedCallback, cookies: CookieReader): Promise<CallbackOutcome> {
  try {
    return await complete(deps, callback, cookies);
  } catch (error) {
    deps.logger.error('authorization callback could not reach the store', { error: describeError(error) });
    return { kind: 'failed', reason: 'storage_error', marketplace: undefined, lwaError: undefined };
  }
}

async function complete(deps: CompleteDeps, callback: ParsedCallback, cookies: CookieReader): Promise<CallbackOutcome> {
  const { store, clock } = deps;
  if (!callback.ok) {
    const related = callback.state === undefined ? undefined : await store.findAttemptByStateHash(sha256Hex(callback.state));
    return refuse(deps, 'callback_invalid', related, callback.sellingPartnerId);
  }
  const { params } = callback;
  const stateHash = sha256Hex(params.state);
  const attempt = await store.findAttemptByStateHash(stateHash);
  if (attempt === undefined || attempt.customerId === null || attempt.region === null) {
    return refuse(deps, 'state_invalid', undefined, params.sellingPartnerId);
  }
  if (!browserMatches(attempt, cookies(bindingCookieName(stateHash)))) {
    return refuse(deps, 'browser_mismatch', attempt, params.sellingPartnerId);
  }
  const codeHash = sha256Hex(params.code);
  if (attempt.consumedAt !== null) return settleRepeat(deps, attempt, codeHash, params.sellingPartnerId);

  const now = clock.now();
  if (attempt.expiresAt === null || attempt.expiresAt.getTime() <= now.getTime()) {
    return refuse(deps, 'state_expired', attempt, params.sellingPartnerId);
  }
  if (!(await store.consumeAttempt({ stateHash, now, sellingPartnerId: params.sellingPartnerId, codeHash }))) {
    // Another request consumed it between our read and our update (or it expired just now): ask the store again.
    const current = await store.findAttemptByStateHash(stateHash);
    if (current?.consumedAt != null) return settleRepeat(deps, current, codeHash, params.sellingPartnerId);
    return refuse(deps, 'state_expired', attempt, params.sellingPartnerId);
  }
  return exchange(deps, { ...attempt, customerId: attempt.customerId, region: attempt.region }, params, now);
}

async function exchange(
  deps: CompleteDeps,
  attempt: AttemptRecord & { customerId: string; region: Region },
  params: CallbackParams,
  now: Date,
): Promise<CallbackOutcome> {
  const { store, cipher, logger } = deps;
  const { customerId, region } = attempt;
  const marketplace = attempt.marketplace ?? '';
  const fail = (reason: FailureReason, lwa?: LwaFailure): Promise<CallbackOutcome> => failAttempt(deps, attempt, reason, lwa);

  // Login-URI flows name their seller up front: Amazon must return that one.
  if (attempt.expectedSellingPartnerId !== null && attempt.expectedSellingPartnerId !== params.sellingPartnerId) return fail('partner_mismatch');

  const owner = await store.findAuthorizedCustomer(params.sellingPartnerId, region);
  if (owner !== undefined && owner !== customerId) return fail('partner_conflict');

  const recorded = await store.recordCallback({
    customerId,
    region,
    sellingPartnerId: params.sellingPartnerId,
    mwsAuthToken: params.mwsAuthToken,
    encryptedCode: cipher.encrypt(params.code, { column: 'spapi_oauth_code', customerId, region }),
    now,
  });
  if (recorded === 'partner_conflict') return fail('partner_conflict');

  const grant = await deps.lwa.exchangeCode({
    code: params.code,
    redirectUri: deps.settings.redirectUri,
    deadline: new Date(now.getTime() + CODE_EXCHANGE_WINDOW_MS),
  });
  if (!grant.ok) return fail(failureReasonFor(grant.failure), grant.failure);

  const encryptedRefreshToken = cipher.encrypt(grant.value.refreshToken, { column: 'lwa_refresh_token', customerId, region });
  const stored = await store.completeAuthorization({
    attemptId: attempt.attemptId,
    customerId,
    region,
    marketplace,
    sellingPartnerId: params.sellingPartnerId,
    encryptedRefreshToken,
    now: deps.clock.now(),
  });
  if (stored === 'partner_conflict') return fail('partner_conflict');
  deps.tokenCache?.set(
    {
      accessToken: grant.value.accessToken,
      expiresAt: new Date(now.getTime() + grant.value.expiresIn * 1000),
      customerId,
      sellingPartnerId: params.sellingPartnerId,
      region,
    },
    credentialGeneration({ status: 'authorized', sellingPartnerId: params.sellingPartnerId, lwaRefreshToken: encryptedRefreshToken }),
  );
  logger.info('authorization succeeded', { customerId, region, marketplace, sellingPartnerId: params.sellingPartnerId });
  return { kind: 'authorized', customerId, region, marketplace, sellingPartnerId: params.sellingPartnerId };
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

async function failAttempt(
  deps: CompleteDeps,
  attempt: AttemptRecord & { customerId: string; region: Region },
  reason: FailureReason,
  lwa: LwaFailure | undefined,
): Promise<CallbackOutcome> {
  const { customerId, region } = attempt;
  const fields = { customerId, region, reason, lwaError: lwa?.error ?? null, status: lwa?.status ?? null, lwaAttempts: lwa?.attempts ?? null };
  // Our own request being refused is an incident for Shipica, not something the seller can fix. (invalid_client is
  // already raised, at most once a minute, by the LWA client.)
  if (reason === 'lwa_client_error' && lwa?.kind !== 'invalid_client') {
    deps.logger.error('LWA refused the code exchange: check LWA_CLIENT_ID and that SPAPI_REDIRECT_URI is registered with Amazon', fields);
  } else deps.logger.warn('authorization failed', fields);
  await deps.store.failAuthorization({
    attemptId: attempt.attemptId,
    customerId,
    region,
    failure: {
      reason,
      lwaError: lwa?.error?.slice(0, LIMITS.lwaError),
      lwaErrorDescription: lwa?.description?.slice(0, LIMITS.lwaErrorDescription),
    },
    now: deps.clock.now(),
  });
  return { kind: 'failed', reason, marketplace: attempt.marketplace ?? undefined, lwaError: lwa?.error };
}

/**
 * A callback for a state that is already consumed. The same callback again (a reload, a double click, 50 at once)
 * gets the first one's result without a second exchange; anything else is a replay.
 */
async function settleRepeat(deps: CompleteDeps, attempt: AttemptRecord, codeHash: string, sellingPartnerId: string): Promise<CallbackOutcome> {
  if (attempt.codeHash !== codeHash) return refuse(deps, 'state_replayed', attempt, sellingPartnerId);
  const sleep = deps.sleep ?? delay;
  const waitUntil = Date.now() + deps.duplicateWaitMs;
  let current: AttemptRecord | undefined = attempt;
  for (let pause = 25; current !== undefined && current.outcome === 'pending' && Date.now() < waitUntil; pause = Math.min(pause * 2, 500)) {
    await sleep(pause);
    current = await deps.store.findAttemptByStateHash(attempt.stateHash ?? '');
  }
  const marketplace = attempt.marketplace ?? undefined;
  if (current === undefined || current.outcome === 'pending') return { kind: 'in_progress', marketplace };
  if (current.outcome === 'succeeded' && current.customerId !== null && current.region !== null && current.sellingPartnerId !== null) {
    return {
      kind: 'authorized',
      customerId: current.customerId,
      region: current.region,
      marketplace: current.marketplace ?? '',
      sellingPartnerId: current.sellingPartnerId,
    };
  }
  const reason: FailureReason = isFailureReason(current.reason) ? current.reason : 'storage_error';
  return { kind: 'failed', reason, marketplace, lwaError: current.lwaError ?? undefined };
}

async function refuse(
  deps: CompleteDeps,
  reason: RefusalReason,
  related: AttemptRecord | undefined,
  sellingPartnerId: string | undefined,
): Promise<CallbackOutcome> {
  deps.logger.warn('authorization callback refused', {
    reason,
    customerId: related?.customerId ?? null,
    region: related?.region ?? null,
    attemptId: related?.attemptId ?? null,
  });
  await deps.store.recordRefusedCallback({ related, sellingPartnerId, reason, now: deps.clock.now() });
  return { kind: 'refused', reason, marketplace: related?.marketplace ?? undefined };
}

function browserMatches(attempt: AttemptRecord, cookie: string | undefined): boolean {
  if (cookie === undefined || attempt.browserBindingHash === null) return false;
  const given = Buffer.from(sha256Hex(cookie), 'hex');
  const expected = Buffer.from(attempt.browserBindingHash, 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}
