import { randomBytes } from 'node:crypto';
import { credentialGeneration, type AccessToken, type AccessTokenStore, type Clock, type CredentialScope, type Logger } from '../credentials/index.js';
import type { TokenCipher } from '../crypto/tokenCipher.js';
import type { LwaClient } from '../lwa/lwaClient.js';
import type { AccessTokenCache, CachedAccessToken } from './accessTokenCache.js';
import { fail, type AccessTokenRequest, type AccessTokenResult } from './accessTokenResult.js';
import { FleetRefresh } from './fleetRefresh.js';
import { REFRESH_AHEAD_MS } from './leaseDecision.js';
import { chooseCredential, requesterOf, type CredentialChoice } from './requestedCredential.js';
import { recheckRevoked, type RecheckOutcome } from './revocationRecheck.js';


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

export const DEFAULT_LEASE_MS = 45_000;
export const DEFAULT_RECHECK_MS = 60_000;

/**
 * Hands out 1-hour LWA access tokens made from the stored refresh tokens, so Shipica's other processes never read
 * or decrypt refresh tokens themselves and LWA is asked once per seller and hour, not once per caller:
 * cached per (customer, scope), concurrent misses for one key share one LWA call.
 *
 * A token belongs to the credential generation that made it (seller, refresh-token envelope, status): a refresh
 * whose row changed while LWA answered is discarded, never cached or returned, and a seller is served only a token
 * made for that seller. A cached token costs no store call; ACCESS_TOKEN_RECHECK_SECONDS bounds how long another
 * instance's change can go unseen here.
 *
 * Across instances (the fleet), an in-process miss goes to the token shared in `sp_api_access_tokens` under a
 * refresh lease (FleetRefresh), so one instance asks LWA for all of them.
 */
export class AccessTokenService {
  /** Lookups under way, by request: concurrent misses for one seller share one store read and one LWA call. */
  private readonly lookups = new Map<string, Promise<AccessTokenResult>>();
  /** Refreshes under way, by (customer, scope): a customer and a seller request for the same row share one too. */
  private readonly refreshes = new Map<string, Promise<AccessTokenResult>>();
  /** Rechecks of a cached entry's generation under way, by (customer, scope, generation). */
  private readonly rechecks = new Map<string, Promise<boolean>>();
  private readonly recheckMs: number;
  private readonly fleet: FleetRefresh;
  /** This instance's id in lease_owner. */
  readonly owner: string;
  private refreshCount = 0;

  constructor(private readonly deps: AccessTokenDeps) {
    this.recheckMs = deps.recheckMs ?? DEFAULT_RECHECK_MS;
    this.fleet = new FleetRefresh({ ...deps, leaseMs: deps.leaseMs ?? DEFAULT_LEASE_MS });
    this.owner = deps.owner ?? `p${process.pid}-${randomBytes(8).toString('hex')}`;
  }

  /**
   * A token for the request's (customer, scope). A fresh cached entry costs no store call; one older than the
   * recheck interval costs one read. An in-process miss for a customer and scope costs ONE read when the shared
   * token serves (a seller id, no scope, or the Far East named by region only, adds the read that resolves the row);
   * a refresh costs that read, the lease claim, LWA and the conditional write.
   */
  async get(request: AccessTokenRequest): Promise<AccessTokenResult> {
    if (!request.forceRefresh && !request.proveRefreshToken) {
      const hit = this.fromMemory(request);
      if (hit !== undefined && this.farFromExpiry(hit.token)) {
        if (this.deps.clock.now().getTime() - hit.checkedAt < this.recheckMs) return { ok: true, token: hit.token };
        // A scope-less hit came through the one scope remembered for the requester: it is re-resolved (lookUp),
        // so another instance's authorization in a second scope is seen within the recheck interval too.
        if (exactScope(request) !== undefined && (await this.recheck(hit))) return { ok: true, token: hit.token };
      }
    }
    const key = JSON.stringify([requesterOf(request), request.scope ?? null, request.region ?? null, Boolean(request.forceRefresh), Boolean(request.proveRefreshToken)]);
    return singleFlight(this.lookups, key, () => this.lookUp(request));
  }

  /**
   * Drops the cached token of (customer, scope) in this process at once: for a row changed outside the flows that
   * evict by themselves (e.g. `ops unlink`). A refresh already in flight for it is discarded when it completes.
   */
  evict(customerId: string, scope: CredentialScope): void {
    this.deps.cache.delete(customerId, scope);
  }

  /** Proves a revoked row's sealed refresh token with LWA again (see recheckRevoked); the row is authorized again when LWA accepts it. */
  recheckRevoked(customerId: string, scope: CredentialScope): Promise<RecheckOutcome> {
    return recheckRevoked(this.deps, customerId, scope);
  }

  private async lookUp(request: AccessTokenRequest): Promise<AccessTokenResult> {
    // A customer and scope name the row itself: the shared-token read answers for the row too (one round trip).
    const named = exactScope(request);
    const target =
      'customerId' in request && named !== undefined
        ? ({ ok: true, customerId: request.customerId, scope: named } as const)
        : await this.resolve(request);
    if (!target.ok) return target;
    const { customerId, scope } = target;
    const seller = 'sellingPartnerId' in request ? request.sellingPartnerId : undefined;
    const prove = Boolean(request.proveRefreshToken);
    const force = prove || Boolean(request.forceRefresh);
    if (!force) {
      const hit = this.deps.cache.lookup(customerId, scope);
      if (hit !== undefined && (seller === undefined || hit.token.sellingPartnerId === seller) && this.farFromExpiry(hit.token)) {
        const fresh = this.deps.clock.now().getTime() - hit.checkedAt < this.recheckMs;
        if (fresh || (await this.recheck(hit))) return { ok: true, token: hit.token };
      }
    }
    const result = await singleFlight(this.refreshes, JSON.stringify([customerId, scope, force, prove]), () =>
      this.fleet.refresh(customerId, scope, { force, prove, retries: 1, owner: this.nextOwner() }),
    );
    // The row may have changed seller between the lookup and the refresh: a seller is served only its own token.
    if (result.ok && seller !== undefined && result.token.sellingPartnerId !== seller) {
      return fail('not_authorized', `Seller ${seller} has no Amazon authorization in ${scope}.`);
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
    const [kind, id] = requesterOf(request);
    const scope = exactScope(request) ?? (request.region === undefined ? cache.soleScopeOf(kind, id) : undefined);
    if (scope === undefined) return undefined;
    const customerId = kind === 'c' ? id : cache.customerOf(id, scope);
    const hit = customerId === undefined ? undefined : cache.lookup(customerId, scope);
    if (hit === undefined || (kind === 's' && hit.token.sellingPartnerId !== id)) return undefined;
    return hit;
  }

  /**
   * One read of the row, shared by concurrent callers: true (and the entry re-stamped) when the row still holds the
   * entry's generation; false (and the entry dropped) when it changed, so the caller looks the request up afresh.
   */
  private recheck(hit: CachedAccessToken): Promise<boolean> {
    const { customerId, scope } = hit.token;
    return singleFlight(this.rechecks, JSON.stringify([customerId, scope, hit.generation]), async () => {
      const { cache, store } = this.deps;
      const since = cache.mark();
      const row = await store.findCredential(customerId, scope);
      if (row !== undefined && credentialGeneration(row) === hit.generation && !cache.changedSince(customerId, scope, since)) {
        cache.confirm(customerId, scope, hit.generation);
        return true;
      }
      cache.delete(customerId, scope, hit.generation);
      return false;
    });
  }

  /** Which (customer, scope) the request means, from the rows of that customer or seller. */
  private async resolve(request: AccessTokenRequest): Promise<CredentialChoice> {
    const { cache, store } = this.deps;
    const [kind, id] = requesterOf(request);
    const since = cache.mark();
    const target = chooseCredential(request, await store.listCredentialsFor(kind === 'c' ? { customerId: id } : { sellingPartnerId: id }));
    if (request.region === undefined && request.scope === undefined) {
      // Scope-less requests for this customer (seller) are then answered from memory too. Another instance
      // authorizing it in a second scope is seen when this scope's entry is next dropped or refreshed.
      if (target.ok) cache.rememberSoleScope(kind, id, target.scope, since);
      else cache.forgetSoleScope(kind, id);
    }
    return target;
  }
}

/** The scope a request names by itself: its scope, or a region that is one scope (NA, EU; never the Far East). */
function exactScope(request: AccessTokenRequest): CredentialScope | undefined {
  if (request.scope !== undefined) return request.scope;
  return request.region === 'NA' || request.region === 'EU' ? request.region : undefined;
}

function singleFlight<T>(inFlight: Map<string, Promise<T>>, key: string, start: () => Promise<T>): Promise<T> {
  let pending = inFlight.get(key);
  if (pending === undefined) {
    pending = start().finally(() => inFlight.delete(key));
    inFlight.set(key, pending);
  }
  return pending;
}
