import type { Region } from '../authorization/marketplaces.js';
import type { Clock, Logger } from '../authorization/ports.js';
import { CipherError, type TokenCipher } from '../crypto/tokenCipher.js';
import type { LwaClient, LwaFailure } from '../lwa/lwaClient.js';
import { LIMITS, type CredentialStore, type CredentialSummary } from '../store/credentialStore.js';
import type { AccessToken, AccessTokenCache } from './accessTokenCache.js';

/**
 * Hands out 1-hour LWA access tokens made from the stored refresh tokens, so Shipica's other processes never read
 * or decrypt refresh tokens themselves and LWA is asked once per seller and hour, not once per caller:
 * cached per (customer, region), concurrent misses for one key share one LWA call.
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
}

/** How long one refresh may take, retries included. */
const REFRESH_DEADLINE_MS = 30_000;
const DEFAULT_RETRY_AFTER_SECONDS = 30;

export const REAUTHORIZE_HOW =
  'The seller must re-authorize Shipica: from Shipica ("Authorize Shipica"), or in Seller Central under Apps and Services > Manage Your Apps.';

export class AccessTokenService {
  /** Lookups under way, by request: concurrent misses for one seller share one store read and one LWA call. */
  private readonly lookups = new Map<string, Promise<AccessTokenResult>>();
  /** Refreshes under way, by (customer, region): a customer and a seller request for the same row share one too. */
  private readonly refreshes = new Map<string, Promise<AccessTokenResult>>();

  constructor(private readonly deps: AccessTokenDeps) {}

  async get(request: AccessTokenRequest): Promise<AccessTokenResult> {
    const cached = request.forceRefresh ? undefined : this.cached(request);
    if (cached !== undefined) return { ok: true, token: cached };
    const key = JSON.stringify(['customerId' in request ? ['c', request.customerId] : ['s', request.sellingPartnerId], request.region ?? null, Boolean(request.forceRefresh)]);
    return singleFlight(this.lookups, key, () => this.lookUp(request));
  }

  private async lookUp(request: AccessTokenRequest): Promise<AccessTokenResult> {
    const target = await this.resolve(request);
    if (!target.ok) return target;
    const { customerId, region } = target;
    const hit = request.forceRefresh ? undefined : this.deps.cache.get(customerId, region);
    if (hit !== undefined) return { ok: true, token: hit };

    return singleFlight(this.refreshes, JSON.stringify([customerId, region]), () => this.refresh(customerId, region, true));
  }

  /** The fast path: a region was named and a fresh token for it is in memory. No store, no LWA. */
  private cached(request: AccessTokenRequest): AccessToken | undefined {
    if (request.region === undefined) return undefined;
    const customerId = 'customerId' in request ? request.customerId : this.deps.cache.customerOf(request.sellingPartnerId, request.region);
    return customerId === undefined ? undefined : this.deps.cache.get(customerId, request.region);
  }

  /** Which (customer, region) the request means, from the rows of that customer or seller. */
  private async resolve(request: AccessTokenRequest): Promise<{ ok: true; customerId: string; region: Region } | Extract<AccessTokenResult, { ok: false }>> {
    const who = 'customerId' in request ? `Customer ${request.customerId}` : `Seller ${request.sellingPartnerId}`;
    const filter = 'customerId' in request ? { customerId: request.customerId } : { sellingPartnerId: request.sellingPartnerId };
    const rows = (await this.deps.store.listCredentialsFor(filter)).filter((r) => request.region === undefined || r.region === request.region);
    const where = request.region === undefined ? '' : ` in ${request.region}`;
    const authorized = rows.filter((r) => r.status === 'authorized');
    const [only] = authorized;
    if (authorized.length > 1) {
      const regions = authorized.map((r) => r.region).join(', ');
      return fail('region_required', `${who} is authorized in ${regions}: name one with ?region=${authorized.map((r) => r.region).join('|')}.`);
    }
    if (only !== undefined) return { ok: true, customerId: only.customerId, region: only.region };
    if (rows.some((r) => r.status === 'revoked')) return revoked(who, where);
    return fail('not_authorized', `${who} has no Amazon authorization${where}.${rows.length > 0 ? ` Its status is ${describeStatuses(rows)}.` : ''}`);
  }

  private async refresh(customerId: string, region: Region, mayRetry: boolean): Promise<AccessTokenResult> {
    const { store, cipher, clock, logger, cache } = this.deps;
    const who = `Customer ${customerId}`;
    const row = await store.findCredential(customerId, region);
    if (row?.status === 'revoked') return revoked(who, ` in ${region}`);
    if (row === undefined || row.status !== 'authorized' || row.lwaRefreshToken === null || row.sellingPartnerId === null) {
      return fail('not_authorized', `${who} has no Amazon authorization in ${region}.`);
    }
    let refreshToken: string;
    try {
      refreshToken = cipher.decrypt(row.lwaRefreshToken, { column: 'lwa_refresh_token', customerId, region });
    } catch (error) {
      if (!(error instanceof CipherError)) throw error;
      logger.error('stored refresh token cannot be decrypted: is its key still in TOKEN_ENCRYPTION_KEYS?', { customerId, region, error: error.message });
      return fail('credential_unreadable', `${who}'s stored authorization in ${region} cannot be decrypted with the configured keys.`);
    }

    const now = clock.now();
    const grant = await this.deps.lwa.refreshAccessToken({ refreshToken, deadline: new Date(now.getTime() + REFRESH_DEADLINE_MS) });
    if (grant.ok) {
      const token: AccessToken = {
        accessToken: grant.value.accessToken,
        expiresAt: new Date(clock.now().getTime() + grant.value.expiresIn * 1000),
        customerId,
        sellingPartnerId: row.sellingPartnerId,
        region,
      };
      cache.set(token);
      return { ok: true, token };
    }
    return this.refused(grant.failure, { customerId, region, envelope: row.lwaRefreshToken, mayRetry });
  }

  private async refused(
    failure: LwaFailure,
    context: { customerId: string; region: Region; envelope: string; mayRetry: boolean },
  ): Promise<AccessTokenResult> {
    const { customerId, region } = context;
    const who = `Customer ${customerId}`;
    switch (failure.kind) {
      case 'invalid_grant': {
        this.deps.cache.delete(customerId, region);
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
        if (!marked && context.mayRetry) return this.refresh(customerId, region, false);
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
