import type { LwaFailure } from '../lwa/lwaResult.js';
import {
  credentialGeneration,
  LIMITS,
  regionOfScope,
  type AccessToken,
  type AccessTokenStore,
  type Clock,
  type CredentialGeneration,
  type CredentialSecrets,
  type CredentialSummary,
  type Logger,
  type CredentialScope,
  type SharedAccessToken,
} from '../credentials/index.js';
import { CipherError, type TokenCipher } from '../crypto/tokenCipher.js';
import type { LwaClient } from '../lwa/lwaClient.js';
import { REFRESH_MARGIN_MS, type AccessTokenCache } from './accessTokenCache.js';
import { describeStatuses, fail, revoked, type AccessTokenResult } from './accessTokenResult.js';
import { leaseDecision, type LeaseOptions } from './leaseDecision.js';

export interface FleetRefreshDeps {
  store: AccessTokenStore;
  lwa: Pick<LwaClient, 'refreshAccessToken'>;
  cipher: TokenCipher;
  clock: Clock;
  logger: Logger;
  cache: AccessTokenCache;
  /** How long the refresh lease is held (see AccessTokenDeps.leaseMs). */
  leaseMs: number;
  /** The pause between polls of another instance's lease (default a timer; tests pass one that moves their clock). */
  sleep?: ((ms: number) => Promise<void>) | undefined;
}

export interface RefreshOptions extends LeaseOptions {
  /** How many more times a refresh whose token was discarded (the row changed) starts over. */
  retries: number;
}

/** How long one refresh may take, retries included (and never longer than the lease). */
const REFRESH_DEADLINE_MS = 30_000;
/** Losers poll the shared row from this interval, growing to POLL_MAX_MS. */
const POLL_FIRST_MS = 25;
const POLL_MAX_MS = 500;
const DEFAULT_RETRY_AFTER_SECONDS = 30;

/**
 * The access token shared by the fleet: it lives in `sp_api_access_tokens`, sealed with the TokenCipher, with the
 * generation that made it and a refresh lease. A miss reads the credential row and the shared row in one round trip
 * and serves the shared token when it belongs to the current generation and has REFRESH_AHEAD_MS left (or is still
 * valid while another instance holds the lease: that one is refreshing ahead). Otherwise it claims the lease in one
 * conditional statement; only the winner asks LWA and writes the token back (only while it holds the lease and the
 * generation is unchanged). Losers poll the shared row for up to twice the lease, then answer `refresh_in_progress`
 * (503 with Retry-After) rather than refresh themselves. A lease whose owner died expires at its deadline, and the
 * next instance to look takes it over.
 */
export class FleetRefresh {
  constructor(private readonly deps: FleetRefreshDeps) {}

  /**
   * The shared path: reads the credential row and its shared token row (one round trip), then does what
   * leaseDecision says: serve the shared token, claim the lease (the winner refreshes: refreshUnderLease) or wait
   * for another instance's refresh, polling the row for at most twice the lease, then answering refresh_in_progress.
   */
  async refresh(customerId: string, scope: CredentialScope, options: RefreshOptions): Promise<AccessTokenResult> {
    const { store, clock, cache } = this.deps;
    const who = `Customer ${customerId}`;
    const waitUntil = clock.now().getTime() + 2 * this.deps.leaseMs;
    let pollMs = POLL_FIRST_MS;
    for (;;) {
      const since = cache.mark();
      const source = await store.readAccessTokenSource(customerId, scope);
      const row = source?.credential;
      if (row === undefined) return fail('not_authorized', `${who} has no Amazon authorization in ${scope}.`);
      if (row.status === 'revoked') return revoked(who, ` in ${scope}`);
      if (row.status !== 'authorized' || row.lwaRefreshToken === null || row.sellingPartnerId === null) {
        return fail('not_authorized', `${who} has no Amazon authorization in ${scope}. Its status is ${describeStatuses([row])}.`);
      }
      const credential = { ...row, lwaRefreshToken: row.lwaRefreshToken, sellingPartnerId: row.sellingPartnerId };
      const generation = credentialGeneration(row);
      const now = clock.now();
      const shared = source?.shared;
      const current = this.sharedToken(shared, generation, credential);
      const decision = leaseDecision({ current, shared }, now, options);
      if (decision.action === 'serve') return this.serve(decision.token, generation, since);
      if (decision.action === 'claim') {
        const claimed = await store.claimAccessTokenLease({ customerId, scope, owner: options.owner, now, until: new Date(now.getTime() + this.deps.leaseMs) });
        if (claimed) return this.refreshUnderLease({ customerId, scope, credential, generation, since, current }, options);
        if (decision.servedIfLost !== undefined) return this.serve(decision.servedIfLost, generation, since);
      }
      // Waiting: another instance holds the lease, or won it just now.
      if (clock.now().getTime() + pollMs > waitUntil) {
        const leaseUntil = shared?.leaseUntil?.getTime() ?? 0;
        const retryAfter = Math.max(1, Math.ceil((leaseUntil - clock.now().getTime()) / 1000));
        this.deps.logger.warn('gave up waiting for another instance to refresh an access token', { customerId, scope });
        return fail('refresh_in_progress', `Another instance is refreshing ${who}'s access token in ${scope} and has not finished; retry after ${retryAfter} seconds.`, retryAfter);
      }
      await (this.deps.sleep ?? sleep)(pollMs);
      pollMs = Math.min(POLL_MAX_MS, pollMs * 2);
    }
  }

  /** The shared row's token when it belongs to `generation` and is still servable; a row that fails to decrypt is a miss. */
  private sharedToken(
    shared: SharedAccessToken | undefined,
    generation: CredentialGeneration,
    credential: { customerId: string; scope: CredentialScope; sellingPartnerId: string },
  ): AccessToken | undefined {
    if (shared === undefined || shared.generation !== generation || shared.accessToken === null || shared.expiresAt === null) return undefined;
    if (shared.expiresAt.getTime() - REFRESH_MARGIN_MS <= this.deps.clock.now().getTime()) return undefined;
    const { customerId, scope, sellingPartnerId } = credential;
    try {
      const accessToken = this.deps.cipher.decrypt(shared.accessToken, { column: 'access_token', customerId, region: regionOfScope(scope) });
      return { accessToken, expiresAt: shared.expiresAt, customerId, sellingPartnerId, scope, region: regionOfScope(scope) };
    } catch (error) {
      if (!(error instanceof CipherError)) throw error;
      // Disposable: sealed under a key since removed, say. Refreshing replaces it.
      this.deps.logger.info('shared access token cannot be decrypted: refreshing it', { customerId, scope, error: error.message });
      return undefined;
    }
  }

  /** Returns the token, caching it here unless this process changed the entry since the read. */
  private serve(token: AccessToken, generation: CredentialGeneration, since: number): AccessTokenResult {
    if (!this.deps.cache.changedSince(token.customerId, token.scope, since)) this.deps.cache.set(token, generation);
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
      scope: CredentialScope;
      credential: CredentialSummary & CredentialSecrets & { lwaRefreshToken: string; sellingPartnerId: string };
      generation: CredentialGeneration;
      since: number;
      current: AccessToken | undefined;
    },
    options: RefreshOptions,
  ): Promise<AccessTokenResult> {
    const { store, cipher, clock, logger, cache } = this.deps;
    const { customerId, scope, credential, generation, since, current } = context;
    const who = `Customer ${customerId}`;
    let refreshToken: string;
    try {
      refreshToken = cipher.decrypt(credential.lwaRefreshToken, { column: 'lwa_refresh_token', customerId, region: regionOfScope(scope) });
    } catch (error) {
      if (!(error instanceof CipherError)) throw error;
      await this.release(customerId, scope, options.owner);
      logger.error('stored refresh token cannot be decrypted: is its key still in TOKEN_ENCRYPTION_KEYS?', { customerId, scope, error: error.message });
      return fail('credential_unreadable', `${who}'s stored authorization in ${scope} cannot be decrypted with the configured keys.`);
    }

    const budget = Math.min(REFRESH_DEADLINE_MS, this.deps.leaseMs);
    const grant = await this.deps.lwa.refreshAccessToken({ refreshToken, deadline: new Date(clock.now().getTime() + budget) });
    if (!grant.ok) {
      if (grant.failure.kind === 'invalid_grant') {
        // The revocation is recorded while the lease is still held: an instance waiting for the lease must find the
        // row revoked, not take the lease and send LWA the refused token again. (A retry here reclaims our own lease.)
        try {
          return await this.refused(grant.failure, { customerId, scope, envelope: credential.lwaRefreshToken, generation, options });
        } finally {
          await this.release(customerId, scope, options.owner);
        }
      }
      await this.release(customerId, scope, options.owner);
      // A refresh ahead that LWA did not answer: the current token is still valid and keeps being served.
      if (grant.failure.kind === 'unavailable' && current !== undefined && !options.force) return this.serve(current, generation, since);
      return this.refused(grant.failure, { customerId, scope, envelope: credential.lwaRefreshToken, generation, options });
    }

    const token: AccessToken = {
      accessToken: grant.value.accessToken,
      expiresAt: new Date(clock.now().getTime() + grant.value.expiresIn * 1000),
      customerId,
      sellingPartnerId: credential.sellingPartnerId,
      scope,
      region: regionOfScope(scope),
    };
    let stored: boolean;
    try {
      stored = await store.storeSharedAccessToken({
        customerId,
        scope,
        owner: options.owner,
        generation,
        sellingPartnerId: credential.sellingPartnerId,
        expectedRefreshToken: credential.lwaRefreshToken,
        accessToken: cipher.encrypt(token.accessToken, { column: 'access_token', customerId, region: regionOfScope(scope) }),
        expiresAt: token.expiresAt,
        now: clock.now(),
      });
    } catch (error) {
      // A store that failed the write may take the release (a brief lock): the fleet need not wait out the lease.
      await this.release(customerId, scope, options.owner);
      throw error;
    }
    if (!stored || cache.changedSince(customerId, scope, since)) {
      logger.info('authorization changed (or the refresh lease was lost) during an access-token refresh: its token was discarded', { customerId, scope });
      if (options.retries > 0) return this.refresh(customerId, scope, { ...options, retries: options.retries - 1 });
      await this.release(customerId, scope, options.owner);
      return fail('lwa_unavailable', `${who}'s authorization in ${scope} changed while its token was being refreshed; retry.`, 1);
    }
    cache.set(token, generation);
    return { ok: true, token };
  }

  /** Best effort: a lease not given up expires at its deadline anyway. */
  private async release(customerId: string, scope: CredentialScope, owner: string): Promise<void> {
    try {
      await this.deps.store.releaseAccessTokenLease({ customerId, scope, owner });
    } catch (error) {
      this.deps.logger.warn('refresh lease could not be given up: it expires at its deadline', { customerId, scope, error: error instanceof Error ? error.message : 'unknown' });
    }
  }

  private async refused(
    failure: LwaFailure,
    context: { customerId: string; scope: CredentialScope; envelope: string; generation: string; options: RefreshOptions },
  ): Promise<AccessTokenResult> {
    const { customerId, scope, options } = context;
    const who = `Customer ${customerId}`;
    switch (failure.kind) {
      case 'invalid_grant': {
        this.deps.cache.delete(customerId, scope, context.generation);
        const marked = await this.deps.store.markRevoked({
          customerId,
          scope,
          expectedRefreshToken: context.envelope,
          failure: {
            reason: 'authorization_revoked',
            lwaError: failure.error?.slice(0, LIMITS.lwaError),
            lwaErrorDescription: failure.description?.slice(0, LIMITS.lwaErrorDescription),
          },
          now: this.deps.clock.now(),
        });
        // Not marked: the row changed under us (most likely a re-authorization stored a new token). Try that one.
        if (!marked && options.retries > 0) return this.refresh(customerId, scope, { ...options, retries: options.retries - 1 });
        this.deps.logger.warn('seller authorization revoked: LWA refused the refresh token', { customerId, scope, lwaError: failure.error ?? null });
        return revoked(who, ` in ${scope}`);
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
        this.deps.logger.warn('LWA unavailable for an access-token refresh', { customerId, scope, status: failure.status ?? null, attempts: failure.attempts });
        return fail('lwa_unavailable', `Login with Amazon did not answer; retry after ${retryAfter} seconds.`, retryAfter);
      }
    }
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
