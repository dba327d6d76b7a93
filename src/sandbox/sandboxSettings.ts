import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { z } from 'zod';
import type { SettingValues } from '../config/settingReader.js';
import { parseJsonText } from '../config/jsonText.js';
import { LocalFileError } from '../config/localSettings.js';
import { SANDBOX_DB_PATH } from '../config/settings.js';
import { SANDBOX_WEBHOOK_PATH, sandboxWebhookSecret } from './sandboxEvents.js';

/**
 * Sandbox mode: no LWA client id or token URL configured, and not in Azure. The sandbox plays Amazon on the local host, with
 * secrets generated once per machine and kept in .data/ (gitignored) so stored tokens stay readable across restarts.
 * Anything set in the environment or local.settings.json wins over what is generated here.
 */
export const SANDBOX_PATHS = {
  sellerCentral: '/sandbox/sellercentral',
  lwaToken: '/sandbox/lwa/auth/o2/token',
} as const;

export const SANDBOX_APPLICATION_ID = 'amzn1.sp.solution.00000000-0000-4000-8000-5a4db0c5a4db';
export const SANDBOX_CLIENT_ID = 'amzn1.application-oa2-client.sandbox0000000000000000000000';

/**
 * A configured LWA_CLIENT_SECRET alone keeps the sandbox on: the sandbox Amazon still expects its generated
 * secret, so `LWA_CLIENT_SECRET=wrong npm start` shows what a missed secret rotation does.
 */
export function isSandbox(values: SettingValues, inAzure: boolean): boolean {
  const blank = (name: string) => (values[name] ?? '').trim() === '';
  return !inAzure && blank('LWA_CLIENT_ID') && blank('LWA_TOKEN_URL');
}

/** The names of what switched sandbox mode off (empty: sandbox mode). */
export function sandboxSwitches(values: SettingValues): string[] {
  return ['LWA_CLIENT_ID', 'LWA_TOKEN_URL'].filter((name) => (values[name] ?? '').trim() !== '');
}

/**
 * `.data/sandbox-secrets.json`: the generated secrets, and the sandbox LWA's revocations (per seller, the generation
 * of refresh tokens it still honours), so a restart keeps both.
 */
const secretsFile = z.object({
  clientSecret: z.string().min(32),
  launchLinkSecret: z.string().min(32),
  tokenKey: z.string().min(40),
  revocations: z.record(z.string(), z.number().int().min(0)).default({}),
  /** Single grants revoked (Revoke at Amazon on one row): SandboxLwa.revokeGrant's ids. */
  revokedGrants: z.array(z.string().regex(/^[A-Za-z0-9_-]{43}$/)).max(100_000).default([]),
});
type SandboxSecrets = z.infer<typeof secretsFile>;

const startOver = (path: string) => `delete ${path} and the sandbox store (.data/local.sqlite) to start over: sandbox authorizations are then lost`;

/**
 * Reads the file, or creates it when there is none. A file that is there but broken is an error naming it, never
 * silently replaced: the store's tokens are sealed with its key, and a new key would make every one unreadable.
 */
function loadOrCreateSecrets(path: string): SandboxSecrets {
  if (existsSync(path)) {
    const json = parseJsonText(readFileSync(path, 'utf8'));
    if (!json.ok) throw new LocalFileError(`${path} is not valid JSON (${json.problem}): fix it, or ${startOver(path)}.`);
    const parsed = secretsFile.safeParse(json.value);
    if (!parsed.success) {
      throw new LocalFileError(`${path} does not hold the sandbox's secrets (clientSecret, launchLinkSecret, tokenKey as it generated them): restore it, or ${startOver(path)}.`);
    }
    return parsed.data;
  }
  const secrets: SandboxSecrets = {
    clientSecret: `amzn1.oa2-cs.v1.sandbox${randomBytes(24).toString('hex')}`,
    launchLinkSecret: randomBytes(32).toString('base64url'),
    tokenKey: randomBytes(32).toString('base64'),
    revocations: {},
    revokedGrants: [],
  };
  writeSecrets(path, secrets);
  return secrets;
}

/** Whole file or nothing: written beside it and renamed, so a crash never leaves half a file of secrets. */
function writeSecrets(path: string, secrets: SandboxSecrets): void {
  mkdirSync(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, JSON.stringify(secrets, null, 2), { mode: 0o600 });
  renameSync(temporary, path);
}

export interface SandboxEnvironment {
  /** The app's settings: generated ones under the configured ones. */
  values: SettingValues;
  /** The client secret the sandbox Amazon accepts, whatever the app is configured with. */
  amazonClientSecret: string;
  /** The sandbox LWA's revocations as last saved: seller → generation of refresh tokens it honours. */
  revocations: Readonly<Record<string, number>>;
  /** Saves the sandbox LWA's revocations with the secrets (the file is re-read, so nothing else in it is lost). */
  saveRevocations(revocations: Readonly<Record<string, number>>): void;
  /** The single grants the sandbox LWA refuses, as last saved. */
  revokedGrants: readonly string[];
  /** Saves them, as saveRevocations does. */
  saveRevokedGrants(grants: readonly string[]): void;
  /** The secret the local webhook receiver verifies with (the generated EVENTS_WEBHOOK_SECRET). */
  webhookSecret: string;
}

/** Settings for a sandbox on `origin` (e.g. http://localhost:7071), under the given configured values. */
export function sandboxEnvironment(values: SettingValues, origin: string, secretsPath = '.data/sandbox-secrets.json'): SandboxEnvironment {
  const secrets = loadOrCreateSecrets(secretsPath);
  const generated: SettingValues = {
    SPAPI_APPLICATION_ID: SANDBOX_APPLICATION_ID,
    SPAPI_REDIRECT_URI: `${origin}/api/lwa-callback`,
    SPAPI_DRAFT_APP: 'false',
    LWA_CLIENT_ID: SANDBOX_CLIENT_ID,
    LWA_CLIENT_SECRET: secrets.clientSecret,
    LWA_TOKEN_URL: `${origin}${SANDBOX_PATHS.lwaToken}`,
    SELLER_CENTRAL_URL: `${origin}${SANDBOX_PATHS.sellerCentral}`,
    LAUNCH_LINK_SECRET: secrets.launchLinkSecret,
    TOKEN_ENCRYPTION_KEYS: `sandbox1:${secrets.tokenKey}`,
    LOCAL_DB_PATH: SANDBOX_DB_PATH,
    // The start page plays oxWebApp for Appstore installs.
    OXWEBAPP_LINK_URL: `${origin}/start/oxwebapp`,
    // The sandbox SP-API (marketplaceParticipations) for the credential sweep and import-refresh-token.
    SPAPI_ENDPOINT_NA: `${origin}/sandbox/spapi/na`,
    SPAPI_ENDPOINT_EU: `${origin}/sandbox/spapi/eu`,
    SPAPI_ENDPOINT_FE: `${origin}/sandbox/spapi/fe`,
    // Events go to the local receiver (the sandbox's oxWebApp), which checks every signature: see /sandbox/events.
    EVENTS_WEBHOOK_URL: `${origin}${SANDBOX_WEBHOOK_PATH}`,
    EVENTS_WEBHOOK_SECRET: sandboxWebhookSecret(secrets.tokenKey),
  };
  const configured = Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined && v.trim() !== ''));
  return {
    values: { ...generated, ...configured },
    amazonClientSecret: secrets.clientSecret,
    revocations: secrets.revocations,
    webhookSecret: sandboxWebhookSecret(secrets.tokenKey),
    saveRevocations: (revocations) => writeSecrets(secretsPath, { ...loadOrCreateSecrets(secretsPath), revocations: { ...revocations } }),
    revokedGrants: secrets.revokedGrants,
    saveRevokedGrants: (grants) => writeSecrets(secretsPath, { ...loadOrCreateSecrets(secretsPath), revokedGrants: [...grants] }),
  };
}
