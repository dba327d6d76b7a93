import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { SettingValues } from '../../../src/config/settingReader.js';
import { App } from '../../../src/app.js';
import { consoleLogger } from '../../../src/logging/logging.js';
import { startLocalHost, type RunningHost } from '../../../src/http/localHost.js';
import { listMigrationFiles } from '../../../src/store/mssql/migrations.js';
import { REQUIRED_MIGRATION, REQUIRED_MIGRATIONS } from '../../../src/store/mssql/migrations.js';
import { SQLITE_SCHEMA_VERSION } from '../../../src/store/sqlite/sqliteEngine.js';
import { CookieClient } from '../../support/cookieClient.js';
import { hostRequest, registerFunctions } from '../../support/functionsHost.js';
import { startHarness, type Harness } from '../../support/harness.js';

/**
 * /api/health tells the truth: 503 naming the problem while the store refuses writes, while the schema is behind the
 * code, while stored refresh tokens cannot be decrypted with the configured keys, and while a setting is bad (never
 * its value); a warning while the LWA client secret nears the end of its 180-day life. Never a secret in the answer.
 * The same logic answers under the Functions host.
 */
let h: Harness;
const extra: Array<{ host: RunningHost; app: App }> = [];
const fresh: Harness[] = [];

beforeAll(async () => {
  h = await startHarness();
  const browser = new CookieClient();
  const done = await browser.get(await h.approve(browser, 'health-1'));
  expect(done.status).toBe(200);
});
afterEach(async () => {
  for (const { host, app } of extra.splice(0)) {
    await host.close();
    await app.close();
  }
  for (const harness of fresh.splice(0)) await harness.close();
});
afterAll(async () => {
  await h.close();
});

const health = async (origin = h.origin) => {
  const res = await new CookieClient().get(`${origin}/api/health`);
  return { status: res.status, body: JSON.parse(res.body) as { status: string; problems?: string[] }, raw: res.body };
};

/** A second connection to the harness's SQLite file, as another process (or a DBA) would hold it. */
async function secondConnection(path = String(h.values['LOCAL_DB_PATH'])) {
  const { default: Database } = await import('better-sqlite3');
  return new Database(path);
}

/** A harness of its own (its own store), for a case about settings the shared one does not have; closed after the case. */
async function freshHarness(overrides: SettingValues = {}): Promise<Harness> {
  const harness = await startHarness(overrides);
  fresh.push(harness);
  return harness;
}

/** The same database served by an app with other settings (e.g. other keys). */
async function hostWith(values: SettingValues): Promise<string> {
  const app = new App({ values: { ...h.values, ...values }, environment: { inAzure: false }, logger: consoleLogger(() => undefined) });
  const host = await startLocalHost({ app, logger: consoleLogger(() => undefined), port: 0 });
  extra.push({ host, app });
  return host.url;
}

it('is 200 ok while the store takes writes, its schema is current and the stored tokens decrypt', async () => {
  expect(await health()).toMatchObject({ status: 200, body: { status: 'ok' } });
});

describe('503 naming the problem', () => {
  it('while another connection holds the write lock, the store refused a write', async () => {
    const db = await secondConnection();
    db.exec('BEGIN EXCLUSIVE');
    try {
      const res = await health();
      expect(res.status).toBe(503);
      expect(res.body.problems).toEqual([expect.stringContaining('store refused a write')]);
    } finally {
      db.exec('COMMIT');
      db.close();
    }
    expect((await health()).status).toBe(200);
  });

  it('while the SQLite file is at an older schema version, the schema is behind the code', async () => {
    const db = await secondConnection();
    db.pragma(`user_version = ${SQLITE_SCHEMA_VERSION - 1}`);
    try {
      const res = await health();
      expect(res.status).toBe(503);
      expect(res.body.problems).toEqual([expect.stringMatching(/^store schema is behind the code: .*schema version \d+, this code needs \d+/)]);
    } finally {
      db.pragma(`user_version = ${SQLITE_SCHEMA_VERSION}`);
      db.close();
    }
  });

  it('when the stored refresh tokens cannot be decrypted with TOKEN_ENCRYPTION_KEYS, naming the key id that sealed them and no secret', async () => {
    const otherKey = randomBytes(32).toString('base64');
    const res = await health(await hostWith({ TOKEN_ENCRYPTION_KEYS: `other:${otherKey}` }));
    expect(res.status).toBe(503);
    expect(res.body.problems).toEqual([
      '1 of 1 sampled refresh tokens cannot be decrypted with TOKEN_ENCRYPTION_KEYS (sealed with key id test1): add the key that sealed them back to TOKEN_ENCRYPTION_KEYS.',
    ]);
    const { store } = await h.services();
    const envelope = (await store.findCredential('health-1', 'NA'))?.lwaRefreshToken ?? 'missing';
    for (const secret of [otherKey, h.secrets.tokenKey, envelope, envelope.split(':')[3] ?? 'missing']) expect(res.raw).not.toContain(secret);
  });
});

it('is 200 when a rotated key ring still holds the key that sealed the stored tokens', async () => {
  const res = await health(await hostWith({ TOKEN_ENCRYPTION_KEYS: `k2:${randomBytes(32).toString('base64')},test1:${h.secrets.tokenKey}` }));
  expect(res).toMatchObject({ status: 200, body: { status: 'ok' } });
});

it('the newest sql/ migration is the one SqlServerStore’s health check requires', () => {
  expect(listMigrationFiles().at(-1)?.version).toBe(REQUIRED_MIGRATION);
});

it('SqlServerStore’s health check requires every sql/ migration, each by its file name', () => {
  expect(REQUIRED_MIGRATIONS).toEqual(listMigrationFiles().map((file) => file.version));
});

it('the registered Azure Health function answers the same 503 while the store refuses writes', async () => {
  const f = await registerFunctions();
  try {
    const state = await f.app.state();
    if (!state.ok || state.services.settings.store.kind !== 'sqlite') throw new Error('expected the functions on SQLite');
    const db = await secondConnection(state.services.settings.store.path);
    db.exec('BEGIN EXCLUSIVE');
    try {
      const response = await f.invoke('Health', hostRequest('GET', 'https://spapi-auth.example.net/api/health'));
      expect(response.status).toBe(503);
      expect(JSON.parse(String(response.body))).toEqual({ status: 'error', problems: [expect.stringContaining('store refused a write')] });
    } finally {
      db.exec('COMMIT');
      db.close();
    }
  } finally {
    await f.close();
  }
});

describe('the settings', () => {
  it('answers 200 {"status":"ok"} when settings are valid and the store answers', async () => {
    const own = await freshHarness();
    const res = await new CookieClient().get(`${own.origin}/api/health`);
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ status: 'ok' });
  });

  it('answers 503 naming bad settings, without their values', async () => {
    const own = await freshHarness({ LAUNCH_LINK_SECRET: 'short-secret', TOKEN_ENCRYPTION_KEYS: '@Microsoft.KeyVault(SecretUri=https://vault/secrets/k)' });
    const res = await new CookieClient().get(`${own.origin}/api/health`);
    expect(res.status).toBe(503);
    const body = JSON.parse(res.body) as { status: string; problems: string[] };
    expect(body.status).toBe('error');
    expect(body.problems).toEqual([
      // Locally nothing resolves a reference: the advice is to put the value itself in local.settings.json.
      'TOKEN_ENCRYPTION_KEYS is a Key Vault reference, which only Azure resolves: put the value itself in local.settings.json.',
      'LAUNCH_LINK_SECRET must be at least 32 bytes long.',
    ]);
    expect(res.body).not.toContain(own.secrets.clientSecret);

    const page = await new CookieClient().get(own.launchLink('42'));
    expect(page.status).toBe(503);
  });
});

describe('the client secret’s 180-day life', () => {
  const inDays = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString();
  const api = new CookieClient();
  const json = (res: { body: string }) => JSON.parse(res.body) as Record<string, string>;

  it('warns under 30 days, fails once expired, is quiet otherwise', async () => {
    const soon = await freshHarness({ LWA_CLIENT_SECRET_EXPIRES_AT: inDays(10) });
    const warned = await api.get(`${soon.origin}/api/health`);
    expect(warned.status).toBe(200);
    expect(json(warned)['status']).toBe('ok');
    expect(JSON.parse(warned.body).warnings[0]).toMatch(/^LWA client secret expires in 10 days/);

    const past = await freshHarness({ LWA_CLIENT_SECRET_EXPIRES_AT: inDays(-1) });
    const expired = await api.get(`${past.origin}/api/health`);
    expect(expired.status).toBe(503);
    expect(JSON.parse(expired.body).problems[0]).toMatch(/^LWA client secret expired on \d{4}-\d{2}-\d{2}/);

    const later = await freshHarness({ LWA_CLIENT_SECRET_EXPIRES_AT: inDays(40).slice(0, 10) });
    expect(JSON.parse((await api.get(`${later.origin}/api/health`)).body)).toEqual({ status: 'ok' });
  });
});
