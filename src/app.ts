import { randomBytes } from 'node:crypto';
import { isRunningInAzure, type Environment, type SettingValues } from './config/settingReader.js';
import { describeError, systemClock, type Clock, type CredentialStore, type Logger, type RandomSource } from './credentials/index.js';
import { AccessTokenCache } from './accessTokens/accessTokenCache.js';
import { AccessTokenService } from './accessTokens/accessTokenService.js';
import { UnknownStateLog } from './authorization/unknownStates.js';
import { loadSettings, type Settings } from './config/settings.js';
import { nudgingStore } from './events/nudgingStore.js';
import { EventDelivery } from './events/webhookDelivery.js';
import { WebhookSender } from './webhooks/webhookSender.js';
import { SellersClient } from './spapi/sellersClient.js';
import { CredentialSweep } from './sweep/credentialSweep.js';
import { IncidentMonitor } from './incidents/incidentMonitor.js';
import { consoleLogger, invocationAwareLogger, outsideInvocation } from './logging/logging.js';
import { TokenCipher } from './crypto/tokenCipher.js';
import { sealPlainMwsTokens } from './crypto/reencryptSecrets.js';
import { fingerprintRefreshTokens } from './crypto/refreshTokenFingerprints.js';
import { LwaClient, type RetryPolicy } from './lwa/lwaClient.js';
import { openStore } from './store/openStore.js';

/**
 * Composition root: the one place that turns settings into a store, an LWA client, a cipher, a clock and a source
 * of randomness. The Functions entry, the local host and the tests all build the app through here, so tests run the
 * real wiring with a temp SQLite file and a loopback LWA.
 */
export interface Services {
  settings: Settings;
  store: CredentialStore;
  lwa: LwaClient;
  cipher: TokenCipher;
  clock: Clock;
  random: RandomSource;
  duplicateWaitMs: number;
  /** Per-process access tokens, seeded by the code exchange and filled by the access-token service. */
  tokenCache: AccessTokenCache;
  /** Callbacks naming a state we never issued: counted and logged at a bounded rate, never stored. */
  unknownStates: UnknownStateLog;
  accessTokens: AccessTokenService;
  /** Standard Webhooks delivery of the events outbox (a no-op without EVENTS_WEBHOOK_URL). */
  events: EventDelivery;
  /** The daily credential sweep (timer CredentialSweep, `npm run ops -- sweep`). */
  sweep: CredentialSweep;
  /** SP-API Sellers API (marketplaceParticipations) on the configured regional endpoints. */
  sellers: SellersClient;
  /** App-wide incidents (LWA refusing Shipica's client, SP-API denying every seller): one signal each, fleet-wide. */
  incidents: IncidentMonitor;
}

export type AppState = { ok: true; services: Services } | { ok: false; problems: string[] };

export interface AppOptions {
  values: SettingValues;
  environment: Environment;
  logger: Logger;
  clock?: Clock;
  random?: RandomSource;
  lwaRetry?: RetryPolicy;
  duplicateWaitMs?: number;
  /** The pauses between LWA retries and between polls of another instance's refresh lease (default timers; tests pass one that moves their clock). */
  sleep?: (ms: number) => Promise<void>;
}

export const cryptoRandom: RandomSource = { bytes: (length) => randomBytes(length) };

export class App {
  private settingsResult: ReturnType<typeof loadSettings> | undefined;
  private services: Promise<Services> | undefined;

  constructor(private readonly options: AppOptions) {}

  /** Settings are validated once; a store that failed to open is tried again on the next call. */
  async state(): Promise<AppState> {
    if (this.settingsResult === undefined) {
      this.settingsResult = loadSettings(this.options.values, this.options.environment);
      if (!this.settingsResult.ok) {
        for (const problem of this.settingsResult.problems) this.options.logger.error('invalid setting', { problem });
      } else {
        // Only that timer refuses to run (jobs/timers.ts); everything else serves.
        for (const [job, problems] of Object.entries(this.settingsResult.settings.jobProblems)) {
          for (const problem of problems) this.options.logger.error('invalid setting', { problem, job });
        }
      }
    }
    const loaded = this.settingsResult;
    if (!loaded.ok) return { ok: false, problems: loaded.problems };
    this.services ??= this.build(loaded.settings).catch((error: unknown) => {
      this.services = undefined;
      throw error;
    });
    try {
      return { ok: true, services: await this.services };
    } catch (error) {
      this.options.logger.error('store could not be opened', { store: loaded.settings.store.kind, error: describeError(error) });
      return { ok: false, problems: [`store (${loaded.settings.store.kind}) could not be opened.`] };
    }
  }

  async close(): Promise<void> {
    const services = this.services;
    this.services = undefined;
    const built = services === undefined ? undefined : await services.catch(() => undefined);
    // A delivery nudged by the last change may still be posting: its outcome is recorded before the store closes.
    await built?.events.settle();
    await built?.incidents.settled();
    await built?.store.close();
  }

  private async build(settings: Settings): Promise<Services> {
    const clock = this.options.clock ?? systemClock;
    const opened = await openStore(settings.store);
    const sender = settings.eventsWebhook === undefined ? undefined : new WebhookSender(settings.eventsWebhook);
    const events = new EventDelivery({ store: opened, sender, clock, logger: this.options.logger, detach: outsideInvocation });
    // Every change that writes an event starts a delivery run in the background (the timer catches up otherwise).
    const store = nudgingStore(opened, () => events.nudge());
    const incidents = new IncidentMonitor({ store, clock, logger: this.options.logger });
    const lwa = new LwaClient({
      tokenUrl: settings.lwa.tokenUrl,
      clientId: settings.lwa.clientId,
      clientSecret: settings.lwa.clientSecret,
      previousClientSecret: settings.lwa.previousClientSecret,
      timeoutMs: settings.lwa.timeoutMs,
      exchangeTimeoutMs: settings.lwa.exchangeTimeoutMs,
      clock,
      logger: this.options.logger,
      incidents,
      ...(this.options.lwaRetry ? { retry: this.options.lwaRetry } : {}),
      ...(this.options.sleep ? { sleep: this.options.sleep } : {}),
    });
    const cipher = new TokenCipher(settings.tokenKeys);
    // The embedded store's schema step that seals MWS tokens cannot encrypt (it has no keys): its data step runs here,
    // once per open, touching only plain values. SQL Server runs it in `npm run db:migrate`.
    // Reported, so ops (and `npm run tokens:reencrypt`, whose own count then finds nothing plain) learn it happened.
    if (settings.store.kind === 'sqlite') {
      const sealed = await sealPlainMwsTokens(store, cipher, settings.tokenKeys.current.kid);
      if (sealed.sealed > 0) this.options.logger.info('plain MWS tokens sealed on opening the store', { sealed: sealed.sealed });
      for (const f of sealed.failed) this.options.logger.warn('plain MWS token left unsealed', { customerId: f.customerId, scope: f.scope, reason: f.reason });
      // Rows stored before refresh-token fingerprints existed get theirs (SQL Server: in `npm run db:migrate`).
      const fingerprints = await fingerprintRefreshTokens(store, cipher, settings.tokenKeys.current.kid);
      if (fingerprints.fingerprinted > 0) this.options.logger.info('refresh tokens fingerprinted on opening the store', { fingerprinted: fingerprints.fingerprinted });
      for (const d of fingerprints.duplicates) {
        this.options.logger.error('a refresh token is stored for two credentials: unlink one (npm run ops -- unlink)', { customerId: d.customerId, scope: d.scope });
      }
    }
    const tokenCache = new AccessTokenCache(settings.accessTokenCacheSize, clock);
    const accessTokens = new AccessTokenService({
      store,
      lwa,
      cipher,
      clock,
      logger: this.options.logger,
      cache: tokenCache,
      recheckMs: settings.accessTokenRecheckSeconds * 1000,
      leaseMs: settings.accessTokenLeaseSeconds * 1000,
      ...(this.options.sleep ? { sleep: this.options.sleep } : {}),
    });
    const sellers = new SellersClient({ endpoints: settings.spApiEndpoints, logger: this.options.logger });
    return {
      settings,
      store,
      sellers,
      lwa,
      cipher,
      clock,
      random: this.options.random ?? cryptoRandom,
      // A reload waits for the first exchange (one request, bounded by LWA_EXCHANGE_TIMEOUT_MS) and its write.
      duplicateWaitMs: this.options.duplicateWaitMs ?? settings.lwa.exchangeTimeoutMs + 5_000,
      tokenCache,
      unknownStates: new UnknownStateLog(clock),
      events,
      accessTokens,
      incidents,
      sweep: new CredentialSweep({
        store,
        accessTokens,
        sellers,
        clock,
        logger: this.options.logger,
        incidents,
        retentionDays: settings.attemptRetentionDays,
      }),
    };
  }
}

let processWide: App | undefined;

/**
 * The app this process serves from its environment (app settings in Azure): one per process, so the Functions
 * and code importing the access-token library share one access-token cache. Its logger writes through the
 * invocation being served (functions/index.ts), and to stdout/stderr outside any invocation.
 */
export function processApp(): App {
  processWide ??= new App({
    values: process.env,
    environment: { inAzure: isRunningInAzure(process.env) },
    logger: invocationAwareLogger(consoleLogger()),
  });
  return processWide;
}
