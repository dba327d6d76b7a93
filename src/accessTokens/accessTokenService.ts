import { randomBytes } from 'node:crypto';
import {
  credentialGeneration,
  LIMITS,
  type AccessToken,
  type AccessTokenStore,
  type Clock,
  type CredentialGeneration,
  type CredentialSecrets,
  type CredentialSummary,
  type Logger,
  type Region,
  type SharedAccessToken,
} from '../credentials/index.js';
import { CipherError, type TokenCipher } from '../crypto/tokenCipher.js';
import type { LwaClient, LwaFailure } from '../lwa/lwaClient.js';
import { REFRESH_MARGIN_MS, type AccessTokenCache, type CachedAccessToken } from './accessTokenCache.js';

/**
 * Hands out 1-hour LWA access tokens made from the stored refresh tokens, so Shipica's other processes never read
 * or decrypt refresh tokens themselves and LWA is asked once per seller and hour, not once per caller:
 * cached per (customer, region), concurrent misses for one key share one LWA call.
 *
 * A token belongs to the credential generation that made it (seller, refresh-token envelope, status): a refresh
 * whose row changed while LWA answered is discarded, never cached or returned, and a seller is served only a token
 * made for that seller. A cached token costs no store call; ACCESS_TOKEN_RECHECK_SECONDS bounds how long another
 * instance's change can go unseen here.
 *
 * Across instances (the fleet), the token lives in `sp_api_access_tokens` too, sealed with the TokenCipher, with the
 * generation that made it and a refresh lease: an in-process miss reads the credential row and the shared row in one
 * round trip and serves the shared token when it belongs to the current generation and has REFRESH_AHEAD_MS left (or
 * is still valid while another instance holds the lease: that one is refreshing ahead). Otherwise it claims the lease
 * in one conditional statement; only the winner asks LWA and writes the token back (only while it holds the lease and
 * the generation is unchanged). Losers poll the shared row for up to twice the lease, then answer
 * `refresh_in_progress` (503 with Retry-After) rather than refresh themselves. A lease whose owner died expires at
 * its deadline, and the next instance to look takes it over.
 */
export type AccessTokenRequest = ({ customerId: string } | { sellingPartnerId: string }) & {
  region?: Region | undefined;
  /**
   * Skip the cached token and ask LWA: for a caller whose SP-API call was refused with 401/403 "access token
   * revoked". Goes through the fleet's refresh lease: a forced request that arrives while a refresh is under way, or
   * within FORCED_REFRESH_REUSE_MS of the last refresh of the same generation, is served that fresh token instead.
   */
  forceRefresh?: boolean | undefined;
  /**
   * Ask LWA even if another request refreshed a moment ago (implies forceRefresh): for the credential sweep, whose
   * question is whether the refresh token still works now, which a token reused from before a revocation cannot answer.
   */
  proveRefreshToken?: boolean | undefined;
};

export type AccessTokenErrorCode =
  | 'not_authorized'
  | 'region_required'
  | 'authorization_revoked'
  | 'lwa_client_rejected'
  | 'lwa_unavailable'
  | 'credential_unreadable'
  /** Another instance holds the refresh lease and did not write a token within the wait (503, Retry-After). */
  | 'refresh_in_progress';

export type AccessTokenResult =
  | { ok: true; token: AccessToken }
  | { ok: false; error: AccessTokenErrorCode; message: string; retryAfterSeconds?: number };

export interface AccessTokenDeps {
  store: AccessTokenStore;
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
  /**
   * ACCESS_TOKEN_LEASE_SECONDS in ms (default 45 s): how long the refresh lease is held; also bounds this instance's
   * own refresh (LWA retries included). A loser waits up to twice this: once for a dead owner's lease to expire, once
   * for the next owner's refresh.
   */
  leaseMs?: number;
  /**
   * This instance's lease-owner id (default `p<pid>-<16 random hex>`, so ops can tell which process holds a lease);
   * each refresh appends `.<n>`. At most 64 ASCII characters with that suffix.
   */
  owner?: string;
  /** The pause between polls of another instance's lease (default a timer; tests pass one that moves their clock). */
  sleep?: (ms: number) => Promise<void>;
}

/** How long one refresh may take, retries included (and never longer than the lease). */
const REFRESH_DEADLINE_MS = 30_000;
export const DEFAULT_LEASE_MS = 45_000;
/** A shared token with less than this left is refreshed ahead by the first instance to see it (under the lease). */
export const REFRESH_AHEAD_MS = 5 * 60_000;
/** A forced refresh within this of the last refresh of the same generation is served that token (issue 10). */
export const FORCED_REFRESH_REUSE_MS = 60_000;
/** Losers poll the shared row from this interval, growing to POLL_MAX_MS. */
const POLL_FIRST_MS = 25;
const POLL_MAX_MS = 500;
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
  private readonly leaseMs: number;
  /** This instance's id in lease_owner. */
  readonly owner: string;
  private refreshCount = 0;

  constructor(private readonly deps: AccessTokenDeps) {
    this.recheckMs = deps.recheckMs ?? DEFAULT_RECHECK_MS;
    this.leaseMs = deps.leaseMs ?? DEFAULT_LEASE_MS;
    this.owner = deps.owner ?? `p${process.pid}-${randomBytes(8).toString('hex')}`;
  }

  /**
   * A token for the request's (customer, region). A fresh cached entry costs no store call; one older than the
   * recheck interval costs one read. An in-process miss for a customer and region costs ONE read when the shared
   * token serves (a seller id, or no region, adds the read that resolves the row); a refresh costs that read, the
   * lease claim, LWA and the conditional write.
   */
  async get(request: AccessTokenRequest): Promise<AccessTokenResult> {
    if (!request.forceRefresh && !request.proveRefreshToken) {
      const hit = this.fromMemory(request);
      if (hit !== undefined && this.farFromExpiry(hit.token)) {
        if (this.deps.clock.now().getTime() - hit.checkedAt < this.recheckMs) return { ok: true, token: hit.token };
        // A region-less hit came through the one region remembered for the requester: it is re-resolved (lookUp),
        // so another instance's authorization in a second region is seen within the recheck interval too.
        if (request.region !== undefined && (await this.recheck(hit))) return { ok: true, token: hit.token };
      }
    }
    const key = JSON.stringify(['customerId' in request ? ['c', request.customerId] : ['s', request.sellingPartnerId], request.region ?? null, Boolean(request.forceRefresh), Boolean(request.proveRefreshToken)]);
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
    // A customer and region name the row itself: the shared-token read answers for the row too (one round trip).
    const target =
      'customerId' in request && request.region !== undefined
        ? ({ ok: true, customerId: request.customerId, region: request.region } as const)
        : await this.resolve(request);
    if (!target.ok) return target;
    const { customerId, region } = target;
    const seller = 'sellingPartnerId' in request ? request.sellingPartnerId : undefined;
    const prove = Boolean(request.proveRefreshToken);
    const force = prove || Boolean(request.forceRefresh);
    if (!force) {
      const hit = this.deps.cache.lookup(customerId, region);
      if (hit !== undefined && (seller === undefined || hit.token.sellingPartnerId === seller) && this.farFromExpiry(hit.token)) {
        const fresh = this.deps.clock.now().getTime() - hit.checkedAt < this.recheckMs;
        if (fresh || (await this.recheck(hit))) return { ok: true, token: hit.token };
      }
    }
    const result = await singleFlight(this.refreshes, JSON.stringify([customerId, region, force, prove]), () =>
      this.refresh(customerId, region, { force, prove, retries: 1, owner: this.nextOwner() }),
    );
    // The row may have changed seller between the lookup and the refresh: a seller is served only its own token.
    if (result.ok && seller !== undefined && result.token.sellingPartnerId !== seller) {
      return fail('not_authorized', `Seller ${seller} has no Amazon authorization in ${region}.`);
    }
    return result;
  }

  /** A token with REFRESH_AHEAD_MS or more left; one closer to expiry goes to the shared row (refresh ahead). */
  private farFromExpiry(token: AccessToken): boolean {
    return token.expiresAt.getTime() - this.deps.clock.now().getTime() >= REFRESH_AHEAD_MS;
  }

  /** A lease-owner id per refresh: this instance's id and a counter, so two refreshes never share a lease. */
  private nextOwner(): string {
    this.refreshCount += 1;
    return `${this.owner}.${this.refreshCount}`;
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
   * The shared path: reads the credential row and its shared token row (one round trip) and serves the shared token
   * when it belongs to the row's generation and has REFRESH_AHEAD_MS left, or is still valid while another instance
   * holds the lease (refreshing ahead). A forced request is served it only when it was refreshed within
   * FORCED_REFRESH_REUSE_MS. Otherwise claims the lease; the winner refreshes (refreshUnderLease), a loser polls
   * the row until a token appears or the lease can be taken, for at most twice the lease, then answers
   * refresh_in_progress.
   */
  private async refresh(customerId: string, region: Region, options: RefreshOptions): Promise<AccessTokenResult> {
    const { store, clock, cache } = this.deps;
    const who = `Customer ${customerId}`;
    const waitUntil = clock.now().getTime() + 2 * this.leaseMs;
    let pollMs = POLL_FIRST_MS;
    for (;;) {
      const since = cache.mark();
      const source = await store.readAccessTokenSource(customerId, region);
      const row = source?.credential;
      if (row === undefined) return fail('not_authorized', `${who} has no Amazon authorization in ${region}.`);
      if (row.status === 'revoked') return revoked(who, ` in ${region}`);
      if (row.status !== 'authorized' || row.lwaRefreshToken === null || row.sellingPartnerId === null) {
        return fail('not_authorized', `${who} has no Amazon authorization in ${region}. Its status is ${describeStatuses([row])}.`);
      }
      const credential = { ...row, lwaRefreshToken: row.lwaRefreshToken, sellingPartnerId: row.sellingPartnerId };
      const generation = credentialGeneration(row);
      const now = clock.now().getTime();
      const shared = source?.shared;
      const current = this.sharedToken(shared, generation, credential);
      const leaseUntil = shared?.leaseUntil?.getTime() ?? 0;
      const leasedByOther = shared?.leaseOwner != null && shared.leaseOwner !== options.owner && leaseUntil > now;
      if (current !== undefined) {
        const refreshedAt = shared?.refreshedAt?.getTime();
        const justRefreshed = refreshedAt !== undefined && now - refreshedAt < FORCED_REFRESH_REUSE_MS;
        const serve = options.force ? justRefreshed && !options.prove : current.expiresAt.getTime() - now >= REFRESH_AHEAD_MS || leasedByOther;
        if (serve) return this.serve(current, generation, since);
      }
      if (!leasedByOther) {
        const claimed = await store.claimAccessTokenLease({ customerId, region, owner: options.owner, now: new Date(now), until: new Date(now + this.leaseMs) });
        if (claimed) return this.refreshUnderLease({ customerId, region, credential, generation, since, current }, options);
        // Another instance claimed it first and is refreshing: a still-valid token keeps being served meanwhile.
        if (current !== undefined && !options.force) return this.serve(current, generation, since);
      }
      if (clock.now().getTime() + pollMs > waitUntil) {
        const retryAfter = Math.max(1, Math.ceil((leaseUntil - clock.now().getTime()) / 1000));
        this.deps.logger.warn('gave up waiting for another instance to refresh an access token', { customerId, region });
        return fail('refresh_in_progress', `Another instance is refreshing ${who}'s access token in ${region} and has not finished; retry after ${retryAfter} seconds.`, retryAfter);
      }
      await (this.deps.sleep ?? sleep)(pollMs);
      pollMs = Math.min(POLL_MAX_MS, pollMs * 2);
    }
  }

  /** The shared row's token when it belongs to `generation` and is still servable; a row that fails to decrypt is a miss. */
  private sharedToken(
    shared: SharedAccessToken | undefined,
    generation: CredentialGeneration,
    credential: { customerId: string; region: Region; sellingPartnerId: string },
  ): AccessToken | undefined {
    if (shared === undefined || shared.generation !== generation || shared.accessToken === null || shared.expiresAt === null) return undefined;
    if (shared.expiresAt.getTime() - REFRESH_MARGIN_MS <= this.deps.clock.now().getTime()) return undefined;
    const { customerId, region, sellingPartnerId } = credential;
    try {
      const accessToken = this.deps.cipher.decrypt(shared.accessToken, { column: 'access_token', customerId, region });
      return { accessToken, expiresAt: shared.expiresAt, customerId, sellingPartnerId, region };
    } catch (error) {
      if (!(error instanceof CipherError)) throw error;
      // Disposable: sealed under a key since removed, say. Refreshing replaces it.
      this.deps.logger.info('shared access token cannot be decrypted: refreshing it', { customerId, region, error: error.message });
      return undefined;
    }
  }

  /** Returns the token, caching it here unless this process changed the entry since the read. */
  private serve(token: AccessToken, generation: CredentialGeneration, since: number): AccessTokenResult {
    if (!this.deps.cache.changedSince(token.customerId, token.region, since)) this.deps.cache.set(token, generation);
    return { ok: true, token };
  }

  /**
   * Under the lease: asks LWA, then writes the token to the shared row in one conditional statement (only while this
   * refresh still holds the lease and the row still holds the generation the token was made from). A token whose
   * write was refused is discarded, never cached or returned, and, `retries` permitting, the refresh starts over with
   * the row as it is now. The lease is given up when the refresh fails.
   */
  private async refreshUnderLease(
    context: {
      customerId: string;
      region: Region;
      credential: CredentialSummary & CredentialSecrets & { lwaRefreshToken: string; sellingPartnerId: string };
      generation: CredentialGeneration;
      since: number;
      current: AccessToken | undefined;
    },
    options: RefreshOptions,
  ): Promise<AccessTokenResult> {
    const { store, cipher, clock, logger, cache } = this.deps;
    const { customerId, region, credential, generation, since, current } = context;
    const who = `Customer ${customerId}`;
    let refreshToken: string;
    try {
      refreshToken = cipher.decrypt(credential.lwaRefreshToken, { column: 'lwa_refresh_token', customerId, region });
    } catch (error) {
      if (!(error instanceof CipherError)) throw error;
      await this.release(customerId, region, options.owner);
      logger.error('stored refresh token cannot be decrypted: is its key still in TOKEN_ENCRYPTION_KEYS?', { customerId, region, error: error.message });
      return fail('credential_unreadable', `${who}'s stored authorization in ${region} cannot be decrypted with the configured keys.`);
    }

    const budget = Math.min(REFRESH_DEADLINE_MS, this.leaseMs);
    const grant = await this.deps.lwa.refreshAccessToken({ refreshToken, deadline: new Date(clock.now().getTime() + budget) });
    if (!grant.ok) {
      if (grant.failure.kind === 'invalid_grant') {
        // The revocation is recorded while the lease is still held: an instance waiting for the lease must find the
        // row revoked, not take the lease and send LWA the refused token again. (A retry here reclaims our own lease.)
        try {
          return await this.refused(grant.failure, { customerId, region, envelope: credential.lwaRefreshToken, generation, options });
        } finally {
          await this.release(customerId, region, options.owner);
        }
      }
      await this.release(customerId, region, options.owner);
      // A refresh ahead that LWA did not answer: the current token is still valid and keeps being served.
      if (grant.failure.kind === 'unavailable' && current !== undefined && !options.force) return this.serve(current, generation, since);
      return this.refused(grant.failure, { customerId, region, envelope: credential.lwaRefreshToken, generation, options });
    }

    const token: AccessToken = {
      accessToken: grant.value.accessToken,
      expiresAt: new Date(clock.now().getTime() + grant.value.expiresIn * 1000),
      customerId,
      sellingPartnerId: credential.sellingPartnerId,
      region,
    };
    let stored: boolean;
    try {
      stored = await store.storeSharedAccessToken({
        customerId,
        region,
        owner: options.owner,
        generation,
        sellingPartnerId: credential.sellingPartnerId,
        expectedRefreshToken: credential.lwaRefreshToken,
        accessToken: cipher.encrypt(token.accessToken, { column: 'access_token', customerId, region }),
        expiresAt: token.expiresAt,
        now: clock.now(),
      });
    } catch (error) {
      // A store that failed the write may take the release (a brief lock): the fleet need not wait out the lease.
      await this.release(customerId, region, options.owner);
      throw error;
    }
    if (!stored || cache.changedSince(customerId, region, since)) {
      logger.info('authorization changed (or the refresh lease was lost) during an access-token refresh: its token was discarded', { customerId, region });
      if (options.retries > 0) return this.refresh(customerId, region, { ...options, retries: options.retries - 1 });
      await this.release(customerId, region, options.owner);
      return fail('lwa_unavailable', `${who}'s authorization in ${region} changed while its token was being refreshed; retry.`, 1);
    }
    cache.set(token, generation);
    return { ok: true, token };
  }

  /** Best effort: a lease not given up expires at its deadline anyway. */
  private async release(customerId: string, region: Region, owner: string): Promise<void> {
    try {
      await this.deps.store.releaseAccessTokenLease({ customerId, region, owner });
    } catch (error) {
      this.deps.logger.warn('refresh lease could not be given up: it expires at its deadline', { customerId, region, error: error instanceof Error ? error.message : 'unknown' });
    }
  }

  private async refused(
    failure: LwaFailure,
    context: { customerId: string; region: Region; envelope: string; generation: string; options: RefreshOptions },
  ): Promise<AccessTokenResult> {
    const { customerId, region, options } = context;
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
        if (!marked && options.retries > 0) return this.refresh(customerId, region, { ...options, retries: options.retries - 1 });
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

interface RefreshOptions {
  force: boolean;
  /** Never serve a token refreshed before this request (see AccessTokenRequest.proveRefreshToken). */
  prove: boolean;
  /** How many more times a refresh whose token was discarded (the row changed) starts over. */
  retries: number;
  /** This refresh's lease-owner id. */
  owner: string;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

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
