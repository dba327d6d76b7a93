import { describe, expect, it } from 'vitest';
import { SETTING_NAMES, type SettingValues } from '../../../src/config/settingReader.js';
import { DEFAULT_LOCAL_DB_PATH, DEFAULT_LWA_TOKEN_URL, loadSettings } from '../../../src/config/settings.js';

const CLIENT_SECRET = 'amzn1.oa2-cs.v1.client-secret-SENTINEL-9f8e7d6c5b4a';
const LAUNCH_SECRET = 'launch-secret-SENTINEL-0123456789abcdef0123';
const KEY_B64 = Buffer.alloc(32, 0x5a).toString('base64'); // WlpaWlpa…
const KEY_B64_2 = Buffer.from('SENTINEL-key-material-32-bytes!!', 'utf8').toString('base64');
const SQL_CONN = 'Server=tcp:db.example.net;Database=x;Password=SqlSENTINELpw;';

const base: SettingValues = {
  SPAPI_APPLICATION_ID: 'amzn1.sp.solution.00000000-1111-2222-3333-444444444444',
  SPAPI_REDIRECT_URI: 'http://localhost:7071/api/callback',
  LWA_CLIENT_ID: 'amzn1.application-oa2-client.abcdef',
  LWA_CLIENT_SECRET: CLIENT_SECRET,
  LAUNCH_LINK_SECRET: LAUNCH_SECRET,
  TOKEN_ENCRYPTION_KEYS: `k1:${KEY_B64}`,
};
const local = { inAzure: false };
const azure = { inAzure: true };
const SECRETS = [CLIENT_SECRET, LAUNCH_SECRET, KEY_B64, KEY_B64_2, 'SENTINEL'];

function problems(values: SettingValues, environment = local): string[] {
  const result = loadSettings(values, environment);
  if (result.ok) return [];
  for (const message of result.problems) for (const secret of SECRETS) expect(message).not.toContain(secret);
  return result.problems;
}

describe('loadSettings: valid sets', () => {
  it('a complete local set parses, with defaults', () => {
    const result = loadSettings(base, local);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const { tokenKeys, ...rest } = result.settings;
    expect(rest).toEqual({
      applicationId: 'amzn1.sp.solution.00000000-1111-2222-3333-444444444444',
      redirectUri: 'http://localhost:7071/api/callback',
      draftApp: false,
      lwa: {
        clientId: 'amzn1.application-oa2-client.abcdef',
        clientSecret: CLIENT_SECRET,
        previousClientSecret: undefined,
        clientSecretExpiresAt: undefined,
        tokenUrl: 'https://api.amazon.com/auth/o2/token',
        timeoutMs: 10000,
        exchangeTimeoutMs: 30000,
      },
      sellerCentralUrl: undefined,
      launchLinkSecret: LAUNCH_SECRET,
      stateTtlSeconds: 600,
      authResultUrl: undefined,
      accessTokenCacheSize: 10000,
      storeRetryMs: 30000,
      accessTokenRecheckSeconds: 60,
      accessTokenLeaseSeconds: 45,
      store: { kind: 'sqlite', path: '.data/configured.sqlite' },
      eventsWebhook: undefined,
      credentialSweepSchedule: '0 30 3 * * *',
      attemptRetentionDays: 90,
      jobProblems: { EventDelivery: [], CredentialSweep: [] },
      spApiEndpoints: {
        NA: 'https://sellingpartnerapi-na.amazon.com',
        EU: 'https://sellingpartnerapi-eu.amazon.com',
        FE: 'https://sellingpartnerapi-fe.amazon.com',
      },
    });
    expect(DEFAULT_LWA_TOKEN_URL).toBe('https://api.amazon.com/auth/o2/token');
    expect(DEFAULT_LOCAL_DB_PATH).toBe('.data/configured.sqlite');
    expect(tokenKeys.current.kid).toBe('k1');
    expect(tokenKeys.current.key.equals(Buffer.alloc(32, 0x5a))).toBe(true);
  });

  it('reads the events webhook as a pair, and names the missing half when only one is set', () => {
    const secret = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
    const both = loadSettings({ ...base, EVENTS_WEBHOOK_URL: 'https://app.shipica.example/hooks/spapi', EVENTS_WEBHOOK_SECRET: secret }, local);
    expect(both.ok && both.settings.eventsWebhook).toEqual({ url: 'https://app.shipica.example/hooks/spapi', secret });
    const urlOnly = loadSettings({ ...base, EVENTS_WEBHOOK_URL: 'https://app.shipica.example/hooks/spapi' }, local);
    // Only EventDelivery reads it: that timer's problem, not the app's (jobs/timers.ts).
    expect(urlOnly.ok ? urlOnly.settings.jobProblems.EventDelivery : urlOnly.problems).toEqual(['EVENTS_WEBHOOK_SECRET is required with EVENTS_WEBHOOK_URL.']);
  });

  it('refuses a webhook secret not in the whsec_ form, without echoing it', () => {
    const result = loadSettings({ ...base, EVENTS_WEBHOOK_URL: 'https://app.shipica.example/h', EVENTS_WEBHOOK_SECRET: 'plain-secret-value' }, local);
    expect(result.ok ? result.settings.jobProblems.EventDelivery : result.problems).toEqual(['EVENTS_WEBHOOK_SECRET must be whsec_ followed by the base64 of 24 to 64 random bytes.']);
  });

  it('refuses a sweep schedule that is not six NCRONTAB fields', () => {
    const result = loadSettings({ ...base, CREDENTIAL_SWEEP_SCHEDULE: '30 3 * * *' }, local);
    expect(result.ok ? result.settings.jobProblems.CredentialSweep : result.problems).toEqual(['CREDENTIAL_SWEEP_SCHEDULE must be an NCRONTAB expression of six fields (seconds first), e.g. "0 30 3 * * *".']);
  });

  it('reads the SP-API endpoint overrides without a trailing slash', () => {
    const result = loadSettings({ ...base, SPAPI_ENDPOINT_EU: 'http://localhost:7071/sandbox/spapi/eu/' }, local);
    expect(result.ok && result.settings.spApiEndpoints.EU).toBe('http://localhost:7071/sandbox/spapi/eu');
  });

  it('reads the client-secret rotation settings', () => {
    const result = loadSettings({ ...base, LWA_CLIENT_SECRET_PREVIOUS: 'old-secret', LWA_CLIENT_SECRET_EXPIRES_AT: '2027-05-20', ACCESS_TOKEN_CACHE_SIZE: '50' }, local);
    expect(result.ok && result.settings.lwa.previousClientSecret).toBe('old-secret');
    expect(result.ok && result.settings.lwa.clientSecretExpiresAt?.toISOString()).toBe('2027-05-20T00:00:00.000Z');
    expect(result.ok && result.settings.accessTokenCacheSize).toBe(50);
    const bad = loadSettings({ ...base, LWA_CLIENT_SECRET_EXPIRES_AT: 'next spring', ACCESS_TOKEN_CACHE_SIZE: '0' }, local);
    expect(bad.ok ? [] : bad.problems).toEqual([
      'LWA_CLIENT_SECRET_EXPIRES_AT must be a date like 2027-05-20 (UTC) or an ISO-8601 date-time.',
      'ACCESS_TOKEN_CACHE_SIZE must be at least 1.',
    ]);
  });

  it('reads ACCESS_TOKEN_RECHECK_SECONDS from 1 to 3600 and names it when out of bounds', () => {
    const result = loadSettings({ ...base, ACCESS_TOKEN_RECHECK_SECONDS: '5' }, local);
    expect(result.ok && result.settings.accessTokenRecheckSeconds).toBe(5);
    for (const [value, problem] of [
      ['0', 'ACCESS_TOKEN_RECHECK_SECONDS must be at least 1.'],
      ['3601', 'ACCESS_TOKEN_RECHECK_SECONDS must be at most 3600.'],
      ['1.5', 'ACCESS_TOKEN_RECHECK_SECONDS must be a whole number from 1 to 3600.'],
    ] as const) {
      const bad = loadSettings({ ...base, ACCESS_TOKEN_RECHECK_SECONDS: value }, local);
      expect(bad.ok ? [] : bad.problems).toEqual([problem]);
    }
  });

  it('reads ACCESS_TOKEN_LEASE_SECONDS from 1 to 300, 45 when unset, and names it when out of bounds', () => {
    const unset = loadSettings(base, local);
    expect(unset.ok && unset.settings.accessTokenLeaseSeconds).toBe(45);
    const result = loadSettings({ ...base, ACCESS_TOKEN_LEASE_SECONDS: '3' }, local);
    expect(result.ok && result.settings.accessTokenLeaseSeconds).toBe(3);
    for (const [value, problem] of [
      ['0', 'ACCESS_TOKEN_LEASE_SECONDS must be at least 1.'],
      ['301', 'ACCESS_TOKEN_LEASE_SECONDS must be at most 300.'],
      ['2.5', 'ACCESS_TOKEN_LEASE_SECONDS must be a whole number from 1 to 300.'],
    ] as const) {
      const bad = loadSettings({ ...base, ACCESS_TOKEN_LEASE_SECONDS: value }, local);
      expect(bad.ok ? [] : bad.problems).toEqual([problem]);
    }
  });

  it('explicit optional values are parsed and trimmed', () => {
    const result = loadSettings(
      {
        ...base,
        SPAPI_DRAFT_APP: 'TRUE',
        LWA_TOKEN_URL: 'http://127.0.0.1:9999/auth/o2/token',
        LWA_TIMEOUT_MS: '2500',
        SELLER_CENTRAL_URL: 'http://localhost:7071/sandbox/',
        STATE_TTL_SECONDS: ' 900 ',
        AUTH_RESULT_URL: 'https://app.shipica.example/amazon/done',
        LOCAL_DB_PATH: '/tmp/x.sqlite',
        TOKEN_ENCRYPTION_KEYS: `new:${KEY_B64_2},old:${KEY_B64}`,
      },
      local,
    );
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.settings.draftApp).toBe(true);
    expect(result.settings.lwa.tokenUrl).toBe('http://127.0.0.1:9999/auth/o2/token');
    expect(result.settings.lwa.timeoutMs).toBe(2500);
    expect(result.settings.sellerCentralUrl).toBe('http://localhost:7071/sandbox');
    expect(result.settings.stateTtlSeconds).toBe(900);
    expect(result.settings.authResultUrl).toBe('https://app.shipica.example/amazon/done');
    expect(result.settings.store).toEqual({ kind: 'sqlite', path: '/tmp/x.sqlite' });
    expect(result.settings.tokenKeys.current.kid).toBe('new');
    expect([...result.settings.tokenKeys.byKid.keys()]).toEqual(['new', 'old']);
  });

  it.each([
    ['false', false],
    ['False', false],
    ['true', true],
    ['True', true],
    ['', false],
  ])('SPAPI_DRAFT_APP %j → %s', (value, expected) => {
    const result = loadSettings({ ...base, SPAPI_DRAFT_APP: value }, local);
    expect(result.ok && result.settings.draftApp).toBe(expected);
  });
});

describe('loadSettings: one message per bad setting, naming it', () => {
  it.each(['SPAPI_APPLICATION_ID', 'SPAPI_REDIRECT_URI', 'LWA_CLIENT_ID', 'LWA_CLIENT_SECRET', 'LAUNCH_LINK_SECRET', 'TOKEN_ENCRYPTION_KEYS'])(
    '%s missing (absent or blank)',
    (name) => {
      const absent = { ...base };
      delete absent[name];
      expect(problems(absent)).toEqual([`${name} is required.`]);
      expect(problems({ ...base, [name]: '   ' })).toEqual([`${name} is required.`]);
    },
  );

  it('SPAPI_REDIRECT_URI over plain http to a non-loopback host', () => {
    const list = problems({ ...base, SPAPI_REDIRECT_URI: 'http://auth.shipica.example/api/callback' });
    expect(list).toHaveLength(1);
    expect(list[0]).toMatch(/^SPAPI_REDIRECT_URI must be an https URL/);
  });

  it('SPAPI_REDIRECT_URI not absolute, or with a fragment or credentials', () => {
    expect(problems({ ...base, SPAPI_REDIRECT_URI: '/api/callback' })).toEqual(['SPAPI_REDIRECT_URI must be an absolute URL.']);
    expect(problems({ ...base, SPAPI_REDIRECT_URI: 'https://x.example/cb#frag' })).toEqual([
      'SPAPI_REDIRECT_URI must not contain a fragment or credentials.',
    ]);
    expect(problems({ ...base, SPAPI_REDIRECT_URI: 'https://u:p@x.example/cb' })).toEqual([
      'SPAPI_REDIRECT_URI must not contain a fragment or credentials.',
    ]);
  });

  it('http://localhost is refused in Azure', () => {
    const list = problems({ ...base, SQL_CONNECTION_STRING: SQL_CONN }, azure);
    expect(list).toEqual(['SPAPI_REDIRECT_URI must be an https URL.']);
    expect(problems({ ...base, SPAPI_REDIRECT_URI: 'https://auth.shipica.example/api/callback', SQL_CONNECTION_STRING: SQL_CONN }, azure)).toEqual([]);
  });

  it('http://127.0.0.1 and http://[::1] are local URLs outside Azure', () => {
    expect(problems({ ...base, SPAPI_REDIRECT_URI: 'http://127.0.0.1:7071/api/callback' })).toEqual([]);
    expect(problems({ ...base, SPAPI_REDIRECT_URI: 'http://[::1]:7071/api/callback' })).toEqual([]);
  });

  it('LAUNCH_LINK_SECRET of 31 bytes (32 accepted)', () => {
    const s31 = `SENTINEL${'x'.repeat(23)}`;
    expect(Buffer.byteLength(s31)).toBe(31);
    expect(problems({ ...base, LAUNCH_LINK_SECRET: s31 })).toEqual(['LAUNCH_LINK_SECRET must be at least 32 bytes long.']);
    expect(problems({ ...base, LAUNCH_LINK_SECRET: `${s31}x` })).toEqual([]);
  });

  it.each([
    ['no colon', KEY_B64_2],
    ['short key', `k1:${Buffer.from('SENTINEL-short').toString('base64')}`],
    ['duplicate kid', `k1:${KEY_B64},k1:${KEY_B64_2}`],
  ])('TOKEN_ENCRYPTION_KEYS bad: %s', (_label, value) => {
    const list = problems({ ...base, TOKEN_ENCRYPTION_KEYS: value });
    expect(list).toHaveLength(1);
    expect(list[0]).toMatch(/^TOKEN_ENCRYPTION_KEYS /);
  });

  it.each([
    ['abc', 'STATE_TTL_SECONDS must be a whole number from 60 to 3600.'],
    ['10', 'STATE_TTL_SECONDS must be at least 60.'],
    ['99999', 'STATE_TTL_SECONDS must be at most 3600.'],
    ['-5', 'STATE_TTL_SECONDS must be a whole number from 60 to 3600.'],
    ['600.5', 'STATE_TTL_SECONDS must be a whole number from 60 to 3600.'],
  ])('STATE_TTL_SECONDS %j', (value, message) => {
    expect(problems({ ...base, STATE_TTL_SECONDS: value })).toEqual([message]);
  });

  it.each(['60', '3600'])('STATE_TTL_SECONDS %s accepted (bounds)', (value) => {
    const result = loadSettings({ ...base, STATE_TTL_SECONDS: value }, local);
    expect(result.ok && result.settings.stateTtlSeconds).toBe(Number(value));
  });

  it('LWA_EXCHANGE_TIMEOUT_MS is read on its own, apart from LWA_TIMEOUT_MS', () => {
    const result = loadSettings({ ...base, LWA_TIMEOUT_MS: '2500', LWA_EXCHANGE_TIMEOUT_MS: ' 45000 ' }, local);
    expect(result.ok && result.settings.lwa).toMatchObject({ timeoutMs: 2500, exchangeTimeoutMs: 45000 });
  });

  it.each(['1000', '240000'])('LWA_EXCHANGE_TIMEOUT_MS %s accepted (bounds)', (value) => {
    const result = loadSettings({ ...base, LWA_EXCHANGE_TIMEOUT_MS: value }, local);
    expect(result.ok && result.settings.lwa.exchangeTimeoutMs).toBe(Number(value));
  });

  it('LWA_EXCHANGE_TIMEOUT_MS above 4 minutes (the code lives 5) or under 1 s is refused', () => {
    expect(problems({ ...base, LWA_EXCHANGE_TIMEOUT_MS: '240001' })).toEqual(['LWA_EXCHANGE_TIMEOUT_MS must be at most 240000.']);
    expect(problems({ ...base, LWA_EXCHANGE_TIMEOUT_MS: '999' })).toEqual(['LWA_EXCHANGE_TIMEOUT_MS must be at least 1000.']);
    expect(problems({ ...base, LWA_EXCHANGE_TIMEOUT_MS: '30s' })).toEqual(['LWA_EXCHANGE_TIMEOUT_MS must be a whole number from 1000 to 240000.']);
  });

  it('an unresolved Key Vault reference in LWA_EXCHANGE_TIMEOUT_MS is reported as one', () => {
    const reference = '@Microsoft.KeyVault(SecretUri=https://kv.vault.azure.net/secrets/x/)';
    expect(SETTING_NAMES).toContain('LWA_EXCHANGE_TIMEOUT_MS');
    expect(problems({ ...base, LWA_EXCHANGE_TIMEOUT_MS: reference })).toEqual([
      'LWA_EXCHANGE_TIMEOUT_MS is a Key Vault reference, which only Azure resolves: put the value itself in local.settings.json.',
    ]);
  });

  it('LWA_TIMEOUT_MS out of range', () => {
    expect(problems({ ...base, LWA_TIMEOUT_MS: '99' })).toEqual(['LWA_TIMEOUT_MS must be at least 100.']);
    expect(problems({ ...base, LWA_TIMEOUT_MS: '60001' })).toEqual(['LWA_TIMEOUT_MS must be at most 60000.']);
  });

  it.each(['yes', '1', 'on', 'TRUE '.repeat(2)])('SPAPI_DRAFT_APP %j', (value) => {
    expect(problems({ ...base, SPAPI_DRAFT_APP: value })).toEqual(['SPAPI_DRAFT_APP must be "true" or "false".']);
  });

  it('SPAPI_APPLICATION_ID / LWA_CLIENT_ID with spaces', () => {
    expect(problems({ ...base, SPAPI_APPLICATION_ID: 'amzn1 sp' })).toEqual(['SPAPI_APPLICATION_ID must not contain spaces.']);
    expect(problems({ ...base, LWA_CLIENT_ID: 'a b' })).toEqual(['LWA_CLIENT_ID must not contain spaces.']);
  });

  it.each(['LWA_CLIENT_SECRET', 'LAUNCH_LINK_SECRET', 'TOKEN_ENCRYPTION_KEYS', 'SQL_CONNECTION_STRING'])(
    'an unresolved Key Vault reference in %s is named, with "Key Vault"',
    (name) => {
      const reference = '@Microsoft.KeyVault(SecretUri=https://kv-SENTINEL.vault.azure.net/secrets/x/)';
      const list = problems({ ...base, [name]: reference });
      expect(list).toHaveLength(1);
      expect(list[0]).toContain(name);
      expect(list[0]).toContain('Key Vault');
      expect(list[0]).not.toContain('kv-SENTINEL');
      expect(list[0]?.startsWith(`${name} `)).toBe(true);
    },
  );
});

describe('loadSettings: SQL store', () => {
  it('SQL_CONNECTION_STRING → mssql', () => {
    const result = loadSettings({ ...base, SQL_CONNECTION_STRING: SQL_CONN }, local);
    expect(result.ok && result.settings.store).toEqual({ kind: 'mssql', connectionString: SQL_CONN });
  });

  it('SQL_SERVER + SQL_DATABASE + SQL_AUTH=managed-identity → mssql-managed-identity', () => {
    const values = { ...base, SQL_SERVER: 'db.database.windows.net', SQL_DATABASE: 'auth', SQL_AUTH: 'managed-identity' };
    const plain = loadSettings(values, local);
    expect(plain.ok && plain.settings.store).toEqual({
      kind: 'mssql-managed-identity',
      server: 'db.database.windows.net',
      database: 'auth',
      clientId: undefined,
    });
    const withClient = loadSettings({ ...values, SQL_MANAGED_IDENTITY_CLIENT_ID: '0000-1111' }, azure);
    expect(withClient).toMatchObject({ ok: false }); // SPAPI_REDIRECT_URI is http://localhost: refused in Azure
    const azureOk = loadSettings(
      { ...values, SQL_MANAGED_IDENTITY_CLIENT_ID: '0000-1111', SPAPI_REDIRECT_URI: 'https://auth.shipica.example/api/callback' },
      azure,
    );
    expect(azureOk.ok && azureOk.settings.store).toEqual({
      kind: 'mssql-managed-identity',
      server: 'db.database.windows.net',
      database: 'auth',
      clientId: '0000-1111',
    });
  });

  it('SQL_SERVER without SQL_DATABASE', () => {
    const list = problems({ ...base, SQL_SERVER: 'db.database.windows.net', SQL_AUTH: 'managed-identity' });
    expect(list).toEqual(['SQL_DATABASE is required with SQL_SERVER.']);
  });

  it('SQL_AUTH other than managed-identity', () => {
    const list = problems({ ...base, SQL_SERVER: 'db', SQL_DATABASE: 'auth', SQL_AUTH: 'password' });
    expect(list).toHaveLength(1);
    expect(list[0]).toMatch(/^SQL_AUTH must be "managed-identity"/);
  });

  it('SQL_SERVER without SQL_AUTH', () => {
    const list = problems({ ...base, SQL_SERVER: 'db', SQL_DATABASE: 'auth' });
    expect(list).toHaveLength(1);
    expect(list[0]).toMatch(/^SQL_AUTH /);
  });

  it('both SQL_CONNECTION_STRING and SQL_SERVER', () => {
    const list = problems({ ...base, SQL_CONNECTION_STRING: SQL_CONN, SQL_SERVER: 'db' });
    expect(list).toHaveLength(1);
    expect(list[0]).toContain('SQL_CONNECTION_STRING');
    expect(list[0]).toContain('SQL_SERVER');
    expect(list[0]).not.toContain('SqlSENTINELpw');
  });

  it('in Azure with no SQL setting', () => {
    const list = problems({ ...base, SPAPI_REDIRECT_URI: 'https://auth.shipica.example/api/callback' }, azure);
    expect(list).toHaveLength(1);
    expect(list[0]).toMatch(/^SQL_CONNECTION_STRING .* required in Azure\.$/);
  });
});

describe('loadSettings: several problems at once', () => {
  it('reports every bad setting, one message each, and no secret values', () => {
    const values: SettingValues = {
      SPAPI_APPLICATION_ID: undefined,
      SPAPI_REDIRECT_URI: 'http://evil.example/cb',
      SPAPI_DRAFT_APP: 'yes',
      LWA_CLIENT_ID: 'client',
      LWA_CLIENT_SECRET: CLIENT_SECRET,
      LAUNCH_LINK_SECRET: 'SENTINEL-too-short',
      TOKEN_ENCRYPTION_KEYS: `k1:${Buffer.from('SENTINEL').toString('base64')}`,
      STATE_TTL_SECONDS: 'abc',
      SQL_SERVER: 'db',
    };
    const list = problems(values);
    expect(list).toHaveLength(8);
    const named = [
      'SPAPI_APPLICATION_ID',
      'SPAPI_REDIRECT_URI',
      'SPAPI_DRAFT_APP',
      'LAUNCH_LINK_SECRET',
      'STATE_TTL_SECONDS',
      'TOKEN_ENCRYPTION_KEYS',
      'SQL_DATABASE',
      'SQL_AUTH',
    ];
    named.forEach((name, i) => expect(list[i]?.startsWith(`${name} `), `${i}: ${list[i]}`).toBe(true));
  });

  it('a Key Vault reference does not hide the other bad settings', () => {
    const list = problems({
      ...base,
      LWA_CLIENT_SECRET: '@Microsoft.KeyVault(VaultName=kv;SecretName=lwa)',
      STATE_TTL_SECONDS: '10',
      SPAPI_APPLICATION_ID: undefined,
    });
    expect(list).toEqual([
      'LWA_CLIENT_SECRET is a Key Vault reference, which only Azure resolves: put the value itself in local.settings.json.',
      'SPAPI_APPLICATION_ID is required.',
      'STATE_TTL_SECONDS must be at least 60.',
    ]);
  });

  it('a bad setting never echoes its value (client secret with a space in a no-space field, key material)', () => {
    const list = problems({
      ...base,
      LWA_CLIENT_ID: `id ${CLIENT_SECRET}`,
      TOKEN_ENCRYPTION_KEYS: `${KEY_B64}`,
      LAUNCH_LINK_SECRET: 'SENTINEL',
    });
    expect(list).toHaveLength(3);
    expect(list.join('\n')).not.toContain(CLIENT_SECRET);
    expect(list.join('\n')).not.toContain(KEY_B64);
  });
});
