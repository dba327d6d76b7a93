import { z } from 'zod';
import { parseKeyRing, type KeyRing } from '../crypto/tokenCipher.js';
import { connectionStringAuthentication } from '../store/mssql/connectionString.js';

/** Every setting this service reads, by its app-setting name (Azure) / `Values` key (local.settings.json). */
export const SETTING_NAMES = [
  'SPAPI_APPLICATION_ID',
  'SPAPI_REDIRECT_URI',
  'SPAPI_DRAFT_APP',
  'LWA_CLIENT_ID',
  'LWA_CLIENT_SECRET',
  'LWA_CLIENT_SECRET_PREVIOUS',
  'LWA_CLIENT_SECRET_EXPIRES_AT',
  'LWA_TOKEN_URL',
  'LWA_TIMEOUT_MS',
  'LWA_EXCHANGE_TIMEOUT_MS',
  'SELLER_CENTRAL_URL',
  'LAUNCH_LINK_SECRET',
  'TOKEN_ENCRYPTION_KEYS',
  'STATE_TTL_SECONDS',
  'AUTH_RESULT_URL',
  'OXWEBAPP_LINK_URL',
  'ACCESS_TOKEN_CACHE_SIZE',
  'STORE_RETRY_MS',
  'ACCESS_TOKEN_RECHECK_SECONDS',
  'ACCESS_TOKEN_LEASE_SECONDS',
  'SQL_CONNECTION_STRING',
  'SQL_SERVER',
  'SQL_DATABASE',
  'SQL_AUTH',
  'SQL_MANAGED_IDENTITY_CLIENT_ID',
  'LOCAL_DB_PATH',
  'EVENTS_WEBHOOK_URL',
  'EVENTS_WEBHOOK_SECRET',
  'CREDENTIAL_SWEEP_SCHEDULE',
  'ATTEMPT_RETENTION_DAYS',
  'SPAPI_ENDPOINT_NA',
  'SPAPI_ENDPOINT_EU',
  'SPAPI_ENDPOINT_FE',
] as const;

export type SettingName = (typeof SETTING_NAMES)[number];
export type SettingValues = Partial<Record<string, string | undefined>>;

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
  /** Standard Webhooks delivery of the events outbox; undefined: the table alone is the interface. */
  eventsWebhook: { url: string; secret: string } | undefined;
  /** NCRONTAB schedule of the CredentialSweep timer. */
  credentialSweepSchedule: string;
  /** Attempts, and delivered events, older than this many days are purged by the sweep. */
  attemptRetentionDays: number;
  /** SP-API endpoint per region (no trailing slash). */
  spApiEndpoints: { NA: string; EU: string; FE: string };
}

export type SettingsResult = { ok: true; settings: Settings } | { ok: false; problems: string[] };

export interface Environment {
  /** True inside Azure Functions / App Service, on every plan (isRunningInAzure). */
  inAzure: boolean;
}

/**
 * Azure sets WEBSITE_SKU on every plan ("Read-only. Pricing tier of the app", Environment variables and app settings
 * in Azure App Service: https://learn.microsoft.com/azure/app-service/reference-app-settings#app-environment), and
 * Core Tools never does. WEBSITE_INSTANCE_ID (same page, "Scaling") alone is not enough: Flex Consumption, where this
 * app runs, does not set it, and the Functions host itself recognises Flex by WEBSITE_SKU=FlexConsumption
 * (Azure/azure-functions-host, src/WebJobs.Script/Environment/EnvironmentExtensions.cs, IsFlexConsumptionSku, whose
 * placeholder-mode fallback requires WEBSITE_INSTANCE_ID to be unset).
 */
export function isRunningInAzure(env: SettingValues): boolean {
  return Boolean(env['WEBSITE_SKU']) || Boolean(env['WEBSITE_INSTANCE_ID']);
}

const KEY_VAULT_PREFIX = '@Microsoft.KeyVault(';

/**
 * Values that may hold any character (secrets, connection strings with passwords): only `REPLACE_WITH_` marks a
 * placeholder in them, since a random secret may well contain `<x>`.
 */
const FREE_TEXT_SETTINGS: ReadonlySet<SettingName> = new Set([
  'LWA_CLIENT_SECRET',
  'LWA_CLIENT_SECRET_PREVIOUS',
  'LAUNCH_LINK_SECRET',
  'TOKEN_ENCRYPTION_KEYS',
  'SQL_CONNECTION_STRING',
]);

/**
 * `REPLACE_WITH_…`, or `<…>` (as in `https://<app>.azurewebsites.net`) outside free-text settings: the placeholders
 * of local.settings.sample.json and README's examples.
 */
export function isPlaceholder(value: string, name?: SettingName): boolean {
  if (value.includes('REPLACE_WITH_')) return true;
  return (name === undefined || !FREE_TEXT_SETTINGS.has(name)) && /<[^<>]+>/.test(value);
}

/**
 * Collects one message per setting (the first problem found wins; an unresolved Key Vault reference or a placeholder
 * first, since any other check on such a value would mislead).
 */
class SettingReader {
  readonly problems: string[] = [];
  private readonly reported = new Set<string>();

  constructor(private readonly values: SettingValues, names: readonly SettingName[], environment: Environment) {
    for (const name of names) {
      const value = this.read(name);
      if (value === undefined) continue;
      if (value.startsWith(KEY_VAULT_PREFIX)) {
        // Only App Service resolves references; locally nothing ever will, so the identity is not the problem.
        this.report(
          name,
          environment.inAzure
            ? "is an unresolved Key Vault reference: check the app's managed identity and its access to the vault."
            : 'is a Key Vault reference, which only Azure resolves: put the value itself in local.settings.json.',
        );
      } else if (isPlaceholder(value, name)) {
        this.report(
          name,
          environment.inAzure
            ? 'is still a placeholder (REPLACE_WITH_… or <…>): set the real value.'
            : 'is still a placeholder from local.settings.sample.json (REPLACE_WITH_… or <…>): put the real value in local.settings.json.',
        );
      }
    }
  }

  /** The trimmed value; blank counts as unset. */
  read(name: SettingName): string | undefined {
    const raw = this.values[name];
    return raw === undefined || raw.trim() === '' ? undefined : raw.trim();
  }

  report(name: SettingName, message: string): void {
    if (this.reported.has(name)) return;
    this.reported.add(name);
    this.problems.push(`${name} ${message}`);
  }

  field<T>(name: SettingName, schema: z.ZodType<T>): T | undefined {
    if (this.reported.has(name)) return undefined;
    const parsed = schema.safeParse(this.read(name));
    if (parsed.success) return parsed.data;
    this.report(name, parsed.error.issues[0]?.message ?? 'is invalid.');
    return undefined;
  }
}

const SQL_SETTING_NAMES = ['SQL_CONNECTION_STRING', 'SQL_SERVER', 'SQL_DATABASE', 'SQL_AUTH', 'SQL_MANAGED_IDENTITY_CLIENT_ID', 'LOCAL_DB_PATH'] as const;

/** Only the store settings, with the app's rules (for `npm run db:migrate`). */
export function loadStoreSettings(values: SettingValues, environment: Environment): { ok: true; store: StoreSettings } | { ok: false; problems: string[] } {
  const reader = new SettingReader(values, SQL_SETTING_NAMES, environment);
  const store = readStoreSettings(reader, environment);
  return store === undefined || reader.problems.length > 0 ? { ok: false, problems: reader.problems } : { ok: true, store };
}

/**
 * Validates every setting at once and returns one message per bad setting, naming the setting but never its value
 * (values may be secrets).
 */
export function loadSettings(values: SettingValues, environment: Environment): SettingsResult {
  const reader = new SettingReader(values, SETTING_NAMES, environment);
  const field = <T>(name: SettingName, schema: z.ZodType<T>): T | undefined => reader.field(name, schema);
  const problems = reader.problems;

  const url = urlSchema(environment);
  const applicationId = field('SPAPI_APPLICATION_ID', required.pipe(noSpaces));
  const redirectUri = field('SPAPI_REDIRECT_URI', required.pipe(url));
  const draftApp = field('SPAPI_DRAFT_APP', booleanSchema);
  const clientId = field('LWA_CLIENT_ID', required.pipe(noSpaces));
  const clientSecret = field('LWA_CLIENT_SECRET', required);
  const previousClientSecret = field('LWA_CLIENT_SECRET_PREVIOUS', z.string().optional());
  const clientSecretExpiresAt = field('LWA_CLIENT_SECRET_EXPIRES_AT', dateSchema.optional());
  const tokenUrl = field('LWA_TOKEN_URL', z.string().default(DEFAULT_LWA_TOKEN_URL).pipe(url));
  const timeoutMs = field('LWA_TIMEOUT_MS', integerSchema(100, 60_000, 10_000));
  const exchangeTimeoutMs = field('LWA_EXCHANGE_TIMEOUT_MS', integerSchema(1_000, 240_000, 30_000));
  const sellerCentralUrl = field('SELLER_CENTRAL_URL', z.string().pipe(url).optional());
  const launchLinkSecret = field(
    'LAUNCH_LINK_SECRET',
    required.refine((v) => Buffer.byteLength(v, 'utf8') >= 32, 'must be at least 32 bytes long.'),
  );
  const stateTtlSeconds = field('STATE_TTL_SECONDS', integerSchema(60, 3600, 600));
  const authResultUrl = field('AUTH_RESULT_URL', z.string().pipe(url).optional());
  const oxWebAppLinkUrl = field('OXWEBAPP_LINK_URL', z.string().pipe(url).optional());
  const accessTokenCacheSize = field('ACCESS_TOKEN_CACHE_SIZE', integerSchema(1, 1_000_000, 10_000));
  const storeRetryMs = field('STORE_RETRY_MS', integerSchema(0, 120_000, 30_000));
  const accessTokenRecheckSeconds = field('ACCESS_TOKEN_RECHECK_SECONDS', integerSchema(1, 3600, 60));
  const accessTokenLeaseSeconds = field('ACCESS_TOKEN_LEASE_SECONDS', integerSchema(1, 300, 45));

  const tokenKeys = field(
    'TOKEN_ENCRYPTION_KEYS',
    required.transform((raw, ctx) => {
      const ring = parseKeyRing(raw);
      if (ring.ok) return ring.keys;
      ctx.addIssue({ code: 'custom', message: ring.problem });
      return z.NEVER;
    }),
  );

  const store = readStoreSettings(reader, environment);

  const webhookUrl = field('EVENTS_WEBHOOK_URL', z.string().pipe(url).optional());
  const webhookSecret = field(
    'EVENTS_WEBHOOK_SECRET',
    z.string().regex(/^whsec_[A-Za-z0-9+/]{32,88}={0,2}$/, 'must be whsec_ followed by the base64 of 24 to 64 random bytes.').optional(),
  );
  if (webhookUrl !== undefined && webhookSecret === undefined) reader.report('EVENTS_WEBHOOK_SECRET', 'is required with EVENTS_WEBHOOK_URL.');
  if (webhookUrl === undefined && webhookSecret !== undefined) reader.report('EVENTS_WEBHOOK_URL', 'is required with EVENTS_WEBHOOK_SECRET.');
  const credentialSweepSchedule = field('CREDENTIAL_SWEEP_SCHEDULE', credentialSweepScheduleSchema);
  const attemptRetentionDays = field('ATTEMPT_RETENTION_DAYS', integerSchema(1, 3650, 90));
  const endpoint = (name: 'SPAPI_ENDPOINT_NA' | 'SPAPI_ENDPOINT_EU' | 'SPAPI_ENDPOINT_FE', fallback: string) =>
    field(name, z.string().default(fallback).pipe(url))?.replace(/\/+$/, '');
  const spApiNa = endpoint('SPAPI_ENDPOINT_NA', DEFAULT_SPAPI_ENDPOINTS.NA);
  const spApiEu = endpoint('SPAPI_ENDPOINT_EU', DEFAULT_SPAPI_ENDPOINTS.EU);
  const spApiFe = endpoint('SPAPI_ENDPOINT_FE', DEFAULT_SPAPI_ENDPOINTS.FE);

  if (
    credentialSweepSchedule === undefined ||
    attemptRetentionDays === undefined ||
    spApiNa === undefined ||
    spApiEu === undefined ||
    spApiFe === undefined ||
    problems.length > 0 ||
    applicationId === undefined ||
    redirectUri === undefined ||
    draftApp === undefined ||
    clientId === undefined ||
    clientSecret === undefined ||
    tokenUrl === undefined ||
    timeoutMs === undefined ||
    exchangeTimeoutMs === undefined ||
    launchLinkSecret === undefined ||
    stateTtlSeconds === undefined ||
    accessTokenCacheSize === undefined ||
    storeRetryMs === undefined ||
    accessTokenRecheckSeconds === undefined ||
    accessTokenLeaseSeconds === undefined ||
    tokenKeys === undefined ||
    store === undefined
  ) {
    return { ok: false, problems };
  }
  return {
    ok: true,
    settings: {
      applicationId,
      redirectUri,
      draftApp,
      lwa: { clientId, clientSecret, previousClientSecret, clientSecretExpiresAt, tokenUrl, timeoutMs, exchangeTimeoutMs },
      sellerCentralUrl: sellerCentralUrl?.replace(/\/+$/, ''),
      launchLinkSecret,
      tokenKeys,
      stateTtlSeconds,
      authResultUrl,
      oxWebAppLinkUrl,
      accessTokenCacheSize,
      storeRetryMs,
      accessTokenRecheckSeconds,
      accessTokenLeaseSeconds,
      store,
      eventsWebhook: webhookUrl !== undefined && webhookSecret !== undefined ? { url: webhookUrl, secret: webhookSecret } : undefined,
      credentialSweepSchedule,
      attemptRetentionDays,
      spApiEndpoints: { NA: spApiNa, EU: spApiEu, FE: spApiFe },
    },
  };
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

const required = z.string({ error: 'is required.' });
/** NCRONTAB as the Functions timer trigger takes it: six fields, seconds first. */
export const credentialSweepScheduleSchema: z.ZodType<string, string | undefined> = z
  .string()
  .default(DEFAULT_CREDENTIAL_SWEEP_SCHEDULE)
  .pipe(z.string().refine(isNcrontab, 'must be an NCRONTAB expression of six fields (seconds first), e.g. "0 30 3 * * *".'));

const MONTH_NAMES = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAY_NAMES = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];
/** Second, minute, hour, day, month, day of week: NCrontab's ranges (what the Functions host parses the schedule with). */
const NCRONTAB_FIELDS: ReadonlyArray<{ min: number; max: number; names?: readonly string[] }> = [
  { min: 0, max: 59 },
  { min: 0, max: 59 },
  { min: 0, max: 23 },
  { min: 1, max: 31 },
  { min: 1, max: 12, names: MONTH_NAMES },
  { min: 0, max: 6, names: DAY_NAMES },
];

/**
 * Six fields, each a list of `*`, `n` or `n-m` with an optional `/step`, values within the field's range (names for
 * months and days). A value the host cannot parse would keep the CredentialSweep function from loading at all.
 */
function isNcrontab(expression: string): boolean {
  const fields = expression.split(' ');
  return fields.length === NCRONTAB_FIELDS.length && fields.every((field, i) => ncrontabField(field, NCRONTAB_FIELDS[i]));
}

function ncrontabField(field: string, range: { min: number; max: number; names?: readonly string[] } | undefined): boolean {
  if (range === undefined) return false;
  const value = (text: string): number | undefined => {
    if (/^\d{1,2}$/.test(text)) return Number(text);
    const named = range.names?.indexOf(text.toUpperCase()) ?? -1;
    return named < 0 ? undefined : named + range.min;
  };
  const inRange = (n: number | undefined): n is number => n !== undefined && n >= range.min && n <= range.max;
  return field.split(',').every((item) => {
    const match = /^(\*|[0-9A-Za-z]+(?:-[0-9A-Za-z]+)?)(?:\/(\d{1,2}))?$/.exec(item);
    if (match?.[1] === undefined) return false;
    if (match[2] !== undefined && Number(match[2]) < 1) return false;
    if (match[1] === '*') return true;
    const [from, to] = match[1].split('-').map(value);
    if (!inRange(from)) return false;
    return to === undefined ? !match[1].includes('-') : inRange(to) && from <= to;
  });
}
/** A date (2027-05-20) or date-time (2027-05-20T00:00:00Z); a bare date means midnight UTC. */
const dateSchema = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2}))?$/, 'must be a date like 2027-05-20 (UTC) or an ISO-8601 date-time.')
  .transform((v) => new Date(v.length === 10 ? `${v}T00:00:00Z` : v))
  .refine((d) => !Number.isNaN(d.getTime()), 'must be a real date.');
const noSpaces = z.string().regex(/^\S+$/, 'must not contain spaces.');
const booleanSchema = z
  .enum(['true', 'false', 'TRUE', 'FALSE', 'True', 'False'], { error: 'must be "true" or "false".' })
  .default('false')
  .transform((v) => v.toLowerCase() === 'true');

function integerSchema(min: number, max: number, fallback: number): z.ZodType<number> {
  return z
    .string()
    .regex(/^\d+$/, `must be a whole number from ${min} to ${max}.`)
    .default(String(fallback))
    .transform(Number)
    .pipe(z.number().min(min, `must be at least ${min}.`).max(max, `must be at most ${max}.`));
}

/** https everywhere; plain http only for localhost/127.0.0.1 and only outside Azure (local runs, sandbox, tests). */
function urlSchema(environment: Environment): z.ZodType<string, string> {
  return z.string().superRefine((value, ctx) => {
    let parsed: URL;
    try {
      parsed = new URL(value);
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be an absolute URL.' });
      return;
    }
    const localHttp = parsed.protocol === 'http:' && isLoopbackHost(parsed.hostname);
    if (parsed.protocol !== 'https:' && !(localHttp && !environment.inAzure)) {
      ctx.addIssue({
        code: 'custom',
        message: environment.inAzure ? 'must be an https URL.' : 'must be an https URL (or http://localhost… for local runs).',
      });
    } else if (parsed.hash !== '' || parsed.username !== '' || parsed.password !== '') {
      ctx.addIssue({ code: 'custom', message: 'must not contain a fragment or credentials.' });
    }
  });
}

export function isLoopbackHost(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '127.0.0.1' || hostname === '[::1]';
}
