import type { Region } from '../authorization/marketplaces.js';
import type { Clock, Logger } from '../authorization/ports.js';
import { CipherError, type TokenCipher } from '../crypto/tokenCipher.js';
import type { LwaClient, LwaFailure } from '../lwa/lwaClient.js';
import { LIMITS, type CredentialStore, type CredentialSummary } from '../store/credentialStore.js';
import { credentialGeneration, type AccessToken, type AccessTokenCache, type CachedAccessToken } from './accessTokenCache.js';

/**
 * Hands out 1-hour LWA access tokens made from the stored refresh tokens, so Shipica's other processes never read
 * or decrypt refresh tokens themselves and LWA is asked once per seller and hour, not once per caller:
 * cached per (customer, region), concurrent misses for one key share one LWA call.
 *
 * A token belongs to the credential generation that made it (seller, refresh-token envelope, status): a refresh
 * whose row changed while LWA answered is discarded, never cached or returned, and a seller is served only a token
 * made for that seller. A cached token costs no store call; ACCESS_TOKEN_RECHECK_SECONDS bounds how long another
 * instance's change can go unseen here.
 */
export type AccessTokenRequest = ({ customerId: string } | { sellingPartnerId: string }) & {
  region?: Region | undefined;
  /**
   * Skip the cached token and ask LWA: for a caller whose SP-API call was refused with 401/403 "access token
   * revoked". Concurrent forced requests still share one LWA call.
   */
  forceRefresh?: boolean | undefined;
};

export type AccessTokenErrorCode =
  | 'not_authorized'
  | 'region_required'
  | 'authorization_revoked'
  | 'lwa_client_rejected'
  | 'lwa_unavailable'
  | 'credential_unreadable';

export type AccessTokenResult =
  | { ok: true; token: AccessToken }
  | { ok: false; error: AccessTokenErrorCode; message: string; retryAfterSeconds?: number };

export interface AccessTokenDeps {
  store: CredentialStore;
  lwa: Pick<LwaClient, 'refreshAccessToken'>;
  cipher: TokenCipher;
  clock: Clock;
  logger: Logger;
  cache: AccessTokenCache;
  /**
   * ACCESS_TOKEN_RECHECK_SECONDS in ms (default 60 s): a cached entry older than this is checked against the store
   * (one read) before it is served. This is the bound on how long a re-authorization, revocation or unlink made by
   * another instance can go unseen here; changes made in this process evict at once.
   */
  recheckMs?: number;
}

/** How long one refresh may take, retries included. */
const REFRESH_DEADLINE_MS = 30_000;
const DEFAULT_RETRY_AFTER_SECONDS = 30;
export const DEFAULT_RECHECK_MS = 60_000;

export const REAUTHORIZE_HOW =
  'The seller must re-authorize Shipica: from Shipica ("Authorize Shipica"), or in Seller Central under Apps and Services > Manage Your Apps.';

type Target = { customerId: string; region: Region };
type Failure = Extract<AccessTokenResult, { ok: false }>;

export class AccessTokenService {
  /** Lookups under way, by request: concurrent misses for one seller share one store read and one LWA call. */
  private readonly lookups = new Map<string, Promise<AccessTokenResult>>();
  /** Refreshes under way, by (customer, region): a customer and a seller request for the same row share one too. */
  private readonly refreshes = new Map<string, Promise<AccessTokenResult>>();
  /** Rechecks of a cached entry's generation under way, by (customer, region, generation). */
  private readonly rechecks = new Map<string, Promise<boolean>>();
  private readonly recheckMs: number;

  constructor(private readonly deps: AccessTokenDeps) {
    this.recheckMs = deps.recheckMs ?? DEFAULT_RECHECK_MS;
  }

  /**
   * A token for the request's (customer, region). A fresh cached entry costs no store call; one older than the
   * recheck interval costs one read; a miss costs the lookup, a read of the row, LWA, and a second read of the row.
   */
  async get(request: AccessTokenRequest): Promise<AccessTokenResult> {
    if (!request.forceRefresh) {
      const hit = this.fromMemory(request);
      if (hit !== undefined) {
        if (this.deps.clock.now().getTime() - hit.checkedAt < this.recheckMs) return { ok: true, token: hit.token };
        // A region-less hit came through the one region remembered for the requester: it is re-resolved (lookUp),
        // so another instance's authorization in a second region is seen within the recheck interval too.
        if (request.region !== undefined && (await this.recheck(hit))) return { ok: true, token: hit.token };
      }
    }
    const key = JSON.stringify(['customerId' in request ? ['c', request.customerId] : ['s', request.sellingPartnerId], request.region ?? null, Boolean(request.forceRefresh)]);
    return singleFlight(this.lookups, key, () => this.lookUp(request));
  }

  /**
   * Drops the cached token of (customer, region) in this process at once: for a row changed outside the flows that
   * evict by themselves (e.g. `ops unlink`). A refresh already in flight for it is discarded when it completes.
   */
  evict(customerId: string, region: Region): void {
    this.deps.cache.delete(customerId, region);
  }

  private async lookUp(request: AccessTokenRequest): Promise<AccessTokenResult> {
    const target = await this.resolve(request);
    if (!target.ok) return target;
    const { customerId, region } = target;
    const seller = 'sellingPartnerId' in request ? request.sellingPartnerId : undefined;
    if (!request.forceRefresh) {
      const hit = this.deps.cache.lookup(customerId, region);
      if (hit !== undefined && (seller === undefined || hit.token.sellingPartnerId === seller)) {
        const fresh = this.deps.clock.now().getTime() - hit.checkedAt < this.recheckMs;
        if (fresh || (await this.recheck(hit))) return { ok: true, token: hit.token };
      }
    }
    const result = await singleFlight(this.refreshes, JSON.stringify([customerId, region]), () => this.refresh(customerId, region, 1));
    // The row may have changed seller between the lookup and the refresh: a seller is served only its own token.
    if (result.ok && seller !== undefined && result.token.sellingPartnerId !== seller) {
      return fail('not_authorized', `Seller ${seller} has no Amazon authorization in ${region}.`);
    }
    return result;
  }

  /** The fast path: no store, no LWA. A cached entry whose seller is not the one asked for is a miss. */
  private fromMemory(request: AccessTokenRequest): CachedAccessToken | undefined {
    const { cache } = this.deps;
    const [kind, id] = 'customerId' in request ? (['c', request.customerId] as const) : (['s', request.sellingPartnerId] as const);
    const region = request.region ?? cache.soleRegionOf(kind, id);
    if (region === undefined) return undefined;
    const customerId = kind === 'c' ? id : cache.customerOf(id, region);
    const hit = customerId === undefined ? undefined : cache.lookup(customerId, region);
    if (hit === undefined || (kind === 's' && hit.token.sellingPartnerId !== id)) return undefined;
    return hit;
  }

  /**
   * One read of the row, shared by concurrent callers: true (and the entry re-stamped) when the row still holds the
   * entry's generation; false (and the entry dropped) when it changed, so the caller looks the request up afresh.
   */
  private recheck(hit: CachedAccessToken): Promise<boolean> {
    const { customerId, region } = hit.token;
    return singleFlight(this.rechecks, JSON.stringify([customerId, region, hit.generation]), async () => {
      const { cache, store } = this.deps;
      const since = cache.mark();
      const row = await store.findCredential(customerId, region);
      if (row !== undefined && credentialGeneration(row) === hit.generation && !cache.changedSince(customerId, region, since)) {
        cache.confirm(customerId, region, hit.generation);
        return true;
      }
      cache.delete(customerId, region, hit.generation);
      return false;
    });
  }

  /** Which (customer, region) the request means, from the rows of that customer or seller. */
  private async resolve(request: AccessTokenRequest): Promise<({ ok: true } & Target) | Failure> {
    const who = 'customerId' in request ? `Customer ${request.customerId}` : `Seller ${request.sellingPartnerId}`;
    const filter = 'customerId' in request ? { customerId: request.customerId } : { sellingPartnerId: request.sellingPartnerId };
    const since = this.deps.cache.mark();
    const rows = (await this.deps.store.listCredentialsFor(filter)).filter((r) => request.region === undefined || r.region === request.region);
    const where = request.region === undefined ? '' : ` in ${request.region}`;
    const authorized = rows.filter((r) => r.status === 'authorized');
    const [only] = authorized;
    if (request.region === undefined && authorized.length !== 1) {
      const [kind, id] = 'customerId' in request ? (['c', request.customerId] as const) : (['s', request.sellingPartnerId] as const);
      this.deps.cache.forgetSoleRegion(kind, id);
    }
    if (authorized.length > 1) {
      const regions = authorized.map((r) => r.region).join(', ');
      return fail('region_required', `${who} is authorized in ${regions}: name one with ?region=${authorized.map((r) => r.region).join('|')}.`);
    }
    if (only !== undefined) {
      // Region-less requests for this customer (seller) are then answered from memory too. Another instance
      // authorizing it in a second region is seen when this region's entry is next dropped or refreshed.
      if (request.region === undefined) {
        const [kind, id] = 'customerId' in request ? (['c', request.customerId] as const) : (['s', request.sellingPartnerId] as const);
        this.deps.cache.rememberSoleRegion(kind, id, only.region, since);
      }
      return { ok: true, customerId: only.customerId, region: only.region };
    }
    if (rows.some((r) => r.status === 'revoked')) return revoked(who, where);
    return fail('not_authorized', `${who} has no Amazon authorization${where}.${rows.length > 0 ? ` Its status is ${describeStatuses(rows)}.` : ''}`);
  }

  /**
   * Reads the row, asks LWA, then reads the row again: the token is cached and returned only if the row still holds
   * the generation it was made from and this process did not change the entry meanwhile (a re-authorization or an
   * eviction). Otherwise it is discarded and, `retries` permitting, the refresh starts over with the new row.
   */
  private async refresh(customerId: string, region: Region, retries: number): Promise<AccessTokenResult> {
    const { store, cipher, clock, logger, cache } = this.deps;
    const who = `Customer ${customerId}`;
    const since = cache.mark();
    const row = await store.findCredential(customerId, region);
    if (row?.status === 'revoked') return revoked(who, ` in ${region}`);
    if (row === undefined || row.status !== 'authorized' || row.lwaRefreshToken === null || row.sellingPartnerId === null) {
      return fail('not_authorized', `${who} has no Amazon authorization in ${region}.`);
    }
    const generation = credentialGeneration(row);
    let refreshToken: string;
    try {
      refreshToken = cipher.decrypt(row.lwaRefreshToken, { column: 'lwa_refresh_token', customerId, region });
    } catch (error) {
      if (!(error instanceof CipherError)) throw error;
      logger.error('stored refresh token cannot be decrypted: is its key still in TOKEN_ENCRYPTION_KEYS?', { customerId, region, error: error.message });
      return fail('credential_unreadable', `${who}'s stored authorization in ${region} cannot be decrypted with the configured keys.`);
    }

    const grant = await this.deps.lwa.refreshAccessToken({ refreshToken, deadline: new Date(clock.now().getTime() + REFRESH_DEADLINE_MS) });
    if (!grant.ok) return this.refused(grant.failure, { customerId, region, envelope: row.lwaRefreshToken, generation, retries });

    // One more read (refreshes happen about once an hour per seller): did the row change while LWA answered?
    const after = await store.findCredential(customerId, region);
    if (after === undefined || credentialGeneration(after) !== generation || cache.changedSince(customerId, region, since)) {
      logger.info('authorization changed during an access-token refresh: its token was discarded', { customerId, region });
      if (retries > 0) return this.refresh(customerId, region, retries - 1);
      return fail('lwa_unavailable', `${who}'s authorization in ${region} changed while its token was being refreshed; retry.`, 1);
    }
    const token: AccessToken = {
      accessToken: grant.value.accessToken,
      expiresAt: new Date(clock.now().getTime() + grant.value.expiresIn * 1000),
      customerId,
      sellingPartnerId: row.sellingPartnerId,
      region,
    };
    cache.set(token, generation);
    return { ok: true, token };
  }

  private async refused(
    failure: LwaFailure,
    context: { customerId: string; region: Region; envelope: string; generation: string; retries: number },
  ): Promise<AccessTokenResult> {
    const { customerId, region } = context;
    const who = `Customer ${customerId}`;
    switch (failure.kind) {
      case 'invalid_grant': {
        this.deps.cache.delete(customerId, region, context.generation);
        const marked = await this.deps.store.markRevoked({
          customerId,
          region,
          expectedRefreshToken: context.envelope,
          failure: {
            reason: 'authorization_revoked',
            lwaError: failure.error?.slice(0, LIMITS.lwaError),
            lwaErrorDescription: failure.description?.slice(0, LIMITS.lwaErrorDescription),
          },
          now: this.deps.clock.now(),
        });
        // Not marked: the row changed under us (most likely a re-authorization stored a new token). Try that one.
        if (!marked && context.retries > 0) return this.refresh(customerId, region, context.retries - 1);
        this.deps.logger.warn('seller authorization revoked: LWA refused the refresh token', { customerId, region, lwaError: failure.error ?? null });
        return revoked(who, ` in ${region}`);
      }
      case 'invalid_client':
      case 'client_error':
        // App-wide: no seller is marked. The LWA client raises the incident log (at most once a minute).
        return fail(
          'lwa_client_rejected',
          "Login with Amazon refused Shipica's own client credentials (check LWA_CLIENT_SECRET); this is an incident for Shipica, not this seller's authorization.",
          DEFAULT_RETRY_AFTER_SECONDS,
        );
      case 'unavailable': {
        const retryAfter = Math.max(1, failure.retryAfterSeconds ?? DEFAULT_RETRY_AFTER_SECONDS);
        this.deps.logger.warn('LWA unavailable for an access-token refresh', { customerId, region, status: failure.status ?? null, attempts: failure.attempts });
        return fail('lwa_unavailable', `Login with Amazon did not answer; retry after ${retryAfter} seconds.`, retryAfter);
      }
    }
  }
}

function singleFlight<T>(inFlight: Map<string, Promise<T>>, key: string, start: () => Promise<T>): Promise<T> {
  let pending = inFlight.get(key);
  if (pending === undefined) {
    pending = start().finally(() => inFlight.delete(key));
    inFlight.set(key, pending);
  }
  return pending;
}

function fail(error: AccessTokenErrorCode, message: string, retryAfterSeconds?: number): Extract<AccessTokenResult, { ok: false }> {
  return { ok: false, error, message, ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }) };
}

function revoked(who: string, where: string): Extract<AccessTokenResult, { ok: false }> {
  return fail('authorization_revoked', `${who}'s Amazon authorization${where} was revoked by the seller or has lapsed. ${REAUTHORIZE_HOW}`);
}

function describeStatuses(rows: CredentialSummary[]): string {
  return rows.map((r) => `${r.status} (${r.region})`).join(', ');
}
