import { z } from 'zod';
import type { KeyRing } from '../crypto/tokenCipher.js';
import { ncrontabSchema } from './ncrontab.js';
import { group, setting, SettingReader, SETTING_NAMES, type Environment, type Plan, type SettingName, type SettingValues } from './settingReader.js';
import { booleanSchema, dateSchema, integerSchema, keyRingSchema, noSpaces, required, urlSchema, withoutTrailingSlashes } from './settingSchemas.js';
import { connectionStringAuthentication } from './sqlConnectionString.js';


export const DEFAULT_LWA_TOKEN_URL = 'https://api.amazon.com/auth/o2/token';
/**
 * The SQLite file of a local run with configured (non-sandbox) settings. The sandbox has its own
 * (SANDBOX_DB_PATH, set by the sandbox's generated settings): tokens sealed with the sandbox's generated key would
 * be unreadable under configured keys, so the two never share a file unless LOCAL_DB_PATH says so.
 */
export const DEFAULT_LOCAL_DB_PATH = '.data/configured.sqlite';
export const SANDBOX_DB_PATH = '.data/local.sqlite';
/** NCRONTAB (six fields, seconds first): every day at 03:30 UTC. */
export const DEFAULT_CREDENTIAL_SWEEP_SCHEDULE = '0 30 3 * * *';
export const DEFAULT_ATTEMPT_RETENTION_DAYS = 90;
/** SP-API's regional endpoints (https://developer-docs.amazon.com/sp-api/docs/sp-api-endpoints). */
export const DEFAULT_SPAPI_ENDPOINTS = {
  NA: 'https://sellingpartnerapi-na.amazon.com',
  EU: 'https://sellingpartnerapi-eu.amazon.com',
  FE: 'https://sellingpartnerapi-fe.amazon.com',
} as const;

export type StoreSettings =
  | { kind: 'sqlite'; path: string }
  | { kind: 'mssql'; connectionString: string }
  | { kind: 'mssql-managed-identity'; server: string; database: string; clientId: string | undefined };

export interface Settings {
  applicationId: string;
  redirectUri: string;
  draftApp: boolean;
  lwa: {
    clientId: string;
    clientSecret: string;
    /** Still accepted by LWA for about 7 days after a rotation; tried when the current one is refused. */
    previousClientSecret: string | undefined;
    /** When the current secret expires (Amazon requires a new one every 180 days); drives /api/health. */
    clientSecretExpiresAt: Date | undefined;
    tokenUrl: string;
    /** Per-request timeout of refresh-grant requests, in ms. */
    timeoutMs: number;
    /**
     * Per-request timeout of the code exchange, in ms. A code exchange that times out is never re-sent (the code is
     * single-use and may already be spent), so this is generous; at most 4 minutes, inside the code's 5-minute life.
     */
    exchangeTimeoutMs: number;
  };
  /** Replaces every marketplace's Seller Central host when set (the sandbox points it at itself). */
  sellerCentralUrl: string | undefined;
  launchLinkSecret: string;
  tokenKeys: KeyRing;
  stateTtlSeconds: number;
  authResultUrl: string | undefined;
  /** Where the Login URI sends a seller we do not know yet, to log in to oxWebApp (Appstore installs). */
  oxWebAppLinkUrl: string | undefined;
  /** How many (customer, region) access tokens one process keeps in memory. */
  accessTokenCacheSize: number;
  /** How long the write that stores a refresh token LWA issued is retried on transient store failures (ms). */
  storeRetryMs: number;
  /**
   * Seconds a cached access token is served before its row is read again (1–3600): the bound on how long another
   * instance's re-authorization or revocation can go unseen in this process.
   */
  accessTokenRecheckSeconds: number;
  /**
   * Seconds an instance holds the refresh lease of a seller's shared access token (1–300): the longest one refresh
   * may take, and how long the fleet waits before another instance takes over from an owner that died. Instances
   * without the lease wait up to twice this for the owner's token, then answer 503 refresh_in_progress.
   */
  accessTokenLeaseSeconds: number;
  store: StoreSettings;
  /**
   * Standard Webhooks delivery of the events outbox; undefined: the table alone is the interface (also while its
   * settings are bad: see jobProblems.EventDelivery).
   */
  eventsWebhook: { url: string; secret: string } | undefined;
  /** NCRONTAB schedule of the CredentialSweep timer (the default while the setting is bad: the sweep then refuses to run). */
  credentialSweepSchedule: string;
  /** Attempts, and delivered events, older than this many days are purged by the sweep. */
  attemptRetentionDays: number;
  /**
   * Problems of the settings only one timer reads (JOB_SETTINGS), one message per bad setting: that timer refuses to
   * run and /api/health names them, while everything else serves. Empty lists when all is well.
   */
  jobProblems: Readonly<Record<JobName, readonly string[]>>;
  /** SP-API endpoint per region (no trailing slash). */
  spApiEndpoints: { NA: string; EU: string; FE: string };
}

/** The timers (jobs/timers.ts), by their function names. */
export type JobName = 'EventDelivery' | 'CredentialSweep';

/**
 * The settings only one timer reads. A problem in one of them stops that timer (each run refuses, a failed
 * invocation) and is named by /api/health; the seller flow and the access tokens never read them, so they keep
 * serving. (The webhook also serves the delivery nudged right after a change: part of EventDelivery's work.)
 */
export const JOB_SETTINGS: Readonly<Record<JobName, readonly SettingName[]>> = {
  EventDelivery: ['EVENTS_WEBHOOK_URL', 'EVENTS_WEBHOOK_SECRET'],
  CredentialSweep: ['CREDENTIAL_SWEEP_SCHEDULE', 'ATTEMPT_RETENTION_DAYS'],
};
const JOB_SETTING_NAMES: ReadonlySet<SettingName> = new Set(Object.values(JOB_SETTINGS).flat());

export type SettingsResult = { ok: true; settings: Settings } | { ok: false; problems: string[] };

const SQL_SETTING_NAMES = ['SQL_CONNECTION_STRING', 'SQL_SERVER', 'SQL_DATABASE', 'SQL_AUTH', 'SQL_MANAGED_IDENTITY_CLIENT_ID', 'LOCAL_DB_PATH'] as const;

/** Only the store settings, with the app's rules (for `npm run db:migrate`). */
export function loadStoreSettings(values: SettingValues, environment: Environment): { ok: true; store: StoreSettings } | { ok: false; problems: string[] } {
  const reader = new SettingReader(values, SQL_SETTING_NAMES, environment);
  const store = readStoreSettings(reader, environment);
  return store === undefined || reader.problems.length > 0 ? { ok: false, problems: reader.problems } : { ok: true, store };
}

/** Every setting, read in this order (the order of the problems listed); the job-only ones through their job's reader. */
function settingsPlan(environment: Environment, jobs: Readonly<Record<JobName, SettingReader>>): Plan<Settings> {
  const url = urlSchema(environment);
  const endpoint = (name: SettingName, fallback: string) => setting(name, z.string().default(fallback).pipe(url).transform(withoutTrailingSlashes));
  return {
    applicationId: setting('SPAPI_APPLICATION_ID', required.pipe(noSpaces)),
    redirectUri: setting('SPAPI_REDIRECT_URI', required.pipe(url)),
    draftApp: setting('SPAPI_DRAFT_APP', booleanSchema),
    lwa: group({
      clientId: setting('LWA_CLIENT_ID', required.pipe(noSpaces)),
      clientSecret: setting('LWA_CLIENT_SECRET', required),
      previousClientSecret: setting('LWA_CLIENT_SECRET_PREVIOUS', z.string().optional()),
      clientSecretExpiresAt: setting('LWA_CLIENT_SECRET_EXPIRES_AT', dateSchema.optional()),
      tokenUrl: setting('LWA_TOKEN_URL', z.string().default(DEFAULT_LWA_TOKEN_URL).pipe(url)),
      timeoutMs: setting('LWA_TIMEOUT_MS', integerSchema(100, 60_000, 10_000)),
      exchangeTimeoutMs: setting('LWA_EXCHANGE_TIMEOUT_MS', integerSchema(1_000, 240_000, 30_000)),
    }),
    sellerCentralUrl: setting('SELLER_CENTRAL_URL', z.string().pipe(url).transform(withoutTrailingSlashes).optional()),
    launchLinkSecret: setting('LAUNCH_LINK_SECRET', required.refine((v) => Buffer.byteLength(v, 'utf8') >= 32, 'must be at least 32 bytes long.')),
    stateTtlSeconds: setting('STATE_TTL_SECONDS', integerSchema(60, 3600, 600)),
    authResultUrl: setting('AUTH_RESULT_URL', z.string().pipe(url).optional()),
    oxWebAppLinkUrl: setting('OXWEBAPP_LINK_URL', z.string().pipe(url).optional()),
    accessTokenCacheSize: setting('ACCESS_TOKEN_CACHE_SIZE', integerSchema(1, 1_000_000, 10_000)),
    storeRetryMs: setting('STORE_RETRY_MS', integerSchema(0, 120_000, 30_000)),
    accessTokenRecheckSeconds: setting('ACCESS_TOKEN_RECHECK_SECONDS', integerSchema(1, 3600, 60)),
    accessTokenLeaseSeconds: setting('ACCESS_TOKEN_LEASE_SECONDS', integerSchema(1, 300, 45)),
    tokenKeys: setting('TOKEN_ENCRYPTION_KEYS', keyRingSchema),
    store: (reader) => {
      const store = readStoreSettings(reader, environment);
      return store === undefined ? undefined : { value: store };
    },
    eventsWebhook: () => ({ value: readEventsWebhook(jobs.EventDelivery, url)?.value }),
    credentialSweepSchedule: () => ({
      value: jobs.CredentialSweep.field('CREDENTIAL_SWEEP_SCHEDULE', credentialSweepScheduleSchema)?.value ?? DEFAULT_CREDENTIAL_SWEEP_SCHEDULE,
    }),
    attemptRetentionDays: () => ({
      value: jobs.CredentialSweep.field('ATTEMPT_RETENTION_DAYS', integerSchema(1, 3650, DEFAULT_ATTEMPT_RETENTION_DAYS))?.value ?? DEFAULT_ATTEMPT_RETENTION_DAYS,
    }),
    spApiEndpoints: group({
      NA: endpoint('SPAPI_ENDPOINT_NA', DEFAULT_SPAPI_ENDPOINTS.NA),
      EU: endpoint('SPAPI_ENDPOINT_EU', DEFAULT_SPAPI_ENDPOINTS.EU),
      FE: endpoint('SPAPI_ENDPOINT_FE', DEFAULT_SPAPI_ENDPOINTS.FE),
    }),
    jobProblems: () => ({ value: { EventDelivery: jobs.EventDelivery.problems, CredentialSweep: jobs.CredentialSweep.problems } }),
  };
}

/**
 * Validates every setting at once and returns one message per bad setting, naming the setting but never its value
 * (values may be secrets). A bad setting that only one timer reads (JOB_SETTINGS) does not fail the settings: it is
 * listed in `jobProblems` under that timer.
 */
export function loadSettings(values: SettingValues, environment: Environment): SettingsResult {
  const reader = new SettingReader(values, SETTING_NAMES.filter((name) => !JOB_SETTING_NAMES.has(name)), environment);
  const jobs = {
    EventDelivery: new SettingReader(values, JOB_SETTINGS.EventDelivery, environment),
    CredentialSweep: new SettingReader(values, JOB_SETTINGS.CredentialSweep, environment),
  };
  const settings = group(settingsPlan(environment, jobs))(reader);
  // A problem may not stop its part from being built (a placeholder in SQL_CONNECTION_STRING): any problem fails.
  return settings === undefined || reader.problems.length > 0 ? { ok: false, problems: reader.problems } : { ok: true, settings: settings.value };
}

/** The webhook as a pair: either half alone names the other as missing. */
function readEventsWebhook(reader: SettingReader, url: z.ZodType<string, string>): { value: Settings['eventsWebhook'] } | undefined {
  const webhookUrl = reader.field('EVENTS_WEBHOOK_URL', z.string().pipe(url).optional());
  const webhookSecret = reader.field(
    'EVENTS_WEBHOOK_SECRET',
    z.string().regex(/^whsec_[A-Za-z0-9+/]{32,88}={0,2}$/, 'must be whsec_ followed by the base64 of 24 to 64 random bytes.').optional(),
  );
  if (webhookUrl === undefined || webhookSecret === undefined) return undefined;
  const [address, secret] = [webhookUrl.value, webhookSecret.value];
  if (address !== undefined && secret === undefined) reader.report('EVENTS_WEBHOOK_SECRET', 'is required with EVENTS_WEBHOOK_URL.');
  if (address === undefined && secret !== undefined) reader.report('EVENTS_WEBHOOK_URL', 'is required with EVENTS_WEBHOOK_SECRET.');
  return { value: address !== undefined && secret !== undefined ? { url: address, secret } : undefined };
}

function readStoreSettings(reader: SettingReader, environment: Environment): StoreSettings | undefined {
  const read = (name: SettingName) => reader.read(name);
  const report = (name: SettingName, message: string) => reader.report(name, message);
  const connectionString = read('SQL_CONNECTION_STRING');
  const server = read('SQL_SERVER');
  const database = read('SQL_DATABASE');
  const auth = read('SQL_AUTH');
  if (connectionString !== undefined) {
    if (server !== undefined || database !== undefined) {
      report('SQL_CONNECTION_STRING', 'is set together with SQL_SERVER/SQL_DATABASE: set one or the other.');
      return undefined;
    }
    // An Authentication the driver cannot use is refused here, never left to become a SQL login.
    const authentication = connectionStringAuthentication(connectionString);
    if (!authentication.ok) {
      report('SQL_CONNECTION_STRING', authentication.problem);
      return undefined;
    }
    return { kind: 'mssql', connectionString };
  }
  if (server !== undefined || database !== undefined || auth !== undefined) {
    if (server === undefined) report('SQL_SERVER', 'is required with SQL_DATABASE / SQL_AUTH.');
    if (database === undefined) report('SQL_DATABASE', 'is required with SQL_SERVER.');
    if (auth !== 'managed-identity') report('SQL_AUTH', 'must be "managed-identity" when SQL_SERVER is used (or use SQL_CONNECTION_STRING).');
    if (server === undefined || database === undefined || auth !== 'managed-identity') return undefined;
    return { kind: 'mssql-managed-identity', server, database, clientId: read('SQL_MANAGED_IDENTITY_CLIENT_ID') };
  }
  if (environment.inAzure) {
    report('SQL_CONNECTION_STRING', '(or SQL_SERVER + SQL_DATABASE + SQL_AUTH=managed-identity) is required in Azure.');
    return undefined;
  }
  return { kind: 'sqlite', path: read('LOCAL_DB_PATH') ?? DEFAULT_LOCAL_DB_PATH };
}

/** The CredentialSweep timer's schedule, as the Functions timer trigger takes it (its default when unset). */
export const credentialSweepScheduleSchema: z.ZodType<string, string | undefined> = z.string().default(DEFAULT_CREDENTIAL_SWEEP_SCHEDULE).pipe(ncrontabSchema);

