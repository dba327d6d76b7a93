import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { amazonCallbackScope } from '../../../src/authorization/amazonCallback.js';
import { prepareLocalRun, sandboxOffLine } from '../../../src/cli/localRun.js';
import { findJsonProblem } from '../../../src/config/jsonText.js';
import { LocalFileError, readLocalSettingValues, readPort } from '../../../src/config/localSettings.js';
import { loadSettings } from '../../../src/config/settings.js';
import { sandboxEnvironment } from '../../../src/sandbox/sandboxSettings.js';
import { SandboxLwa } from '../../../src/sandbox/sandboxLwa.js';

/** Settings as a new user meets them locally: PORT, local.settings.json, the sandbox's own file. */
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'settings-local-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const SECRET = 'SECRET-SENTINEL-in-the-file-0123456789';

describe('PORT', () => {
  it.each(['abc', '70000', '80.5', '-1', '65536'])('PORT=%s is one line naming PORT and its range', (value) => {
    const result = prepareLocalRun({ cwd: dir, env: { PORT: value } });
    expect(result).toEqual({ ok: false, problems: ['PORT must be a whole number from 1 to 65535 (the local host\'s port; unset, it is 7071).'] });
  });

  it('PORT=0 (any free port) is refused in sandbox mode, naming PORT', () => {
    expect(prepareLocalRun({ cwd: dir, env: { PORT: '0' } })).toEqual({
      ok: false,
      problems: ['PORT=0 (any free port) works only with real settings: the sandbox needs a fixed PORT from 1 to 65535.'],
    });
  });

  it('PORT=0 with real settings asks the system for a free port', () => {
    const result = prepareLocalRun({ cwd: dir, env: { PORT: '0', LWA_CLIENT_ID: 'amzn1.application-oa2-client.abc' } });
    expect(result.ok && result.run.port).toBe(0);
  });

  it('unset PORT is 7071 and PORT=8080 is 8080', () => {
    expect(readPort({})).toEqual({ ok: true, port: 7071 });
    expect(readPort({ PORT: '8080' })).toEqual({ ok: true, port: 8080 });
  });
});

describe('what switched sandbox mode off', () => {
  it('LWA_CLIENT_ID set alone names itself as the switch and lists what it makes required', () => {
    const result = prepareLocalRun({ cwd: dir, env: { LWA_CLIENT_ID: 'amzn1.application-oa2-client.abc' } });
    if (!result.ok) throw new Error(result.problems.join('; '));
    const loaded = loadSettings(result.run.values, { inAzure: false });
    expect(loaded.ok).toBe(false);
    const problems = loaded.ok ? [] : loaded.problems;
    expect(sandboxOffLine(result.run, problems)).toBe(
      'LWA_CLIENT_ID is set in the environment, so sandbox mode is off; these are then required: SPAPI_APPLICATION_ID, SPAPI_REDIRECT_URI, LWA_CLIENT_SECRET, LAUNCH_LINK_SECRET, TOKEN_ENCRYPTION_KEYS. (Remove LWA_CLIENT_ID to use the sandbox.)',
    );
  });

  it('says the switch came from local.settings.json when it did', () => {
    writeFileSync(join(dir, 'local.settings.json'), JSON.stringify({ Values: { LWA_TOKEN_URL: 'https://api.amazon.com/auth/o2/token' } }));
    const result = prepareLocalRun({ cwd: dir, env: {} });
    if (!result.ok) throw new Error(result.problems.join('; '));
    expect(sandboxOffLine(result.run, [])).toBe('LWA_TOKEN_URL is set in local.settings.json, so sandbox mode is off.');
  });

  it('in sandbox mode there is no such line', () => {
    const result = prepareLocalRun({ cwd: dir, env: {} });
    expect(result.ok && sandboxOffLine(result.run, ['X is required.'])).toBeUndefined();
  });
});

describe('placeholders and Key Vault references', () => {
  const configured = {
    SPAPI_APPLICATION_ID: 'amzn1.sp.solution.11111111-2222-4333-8444-555555555555',
    SPAPI_REDIRECT_URI: 'http://localhost:7071/api/lwa-callback',
    LWA_CLIENT_ID: 'amzn1.application-oa2-client.abc',
    LWA_CLIENT_SECRET: 'amzn1.oa2-cs.v1.secret-value-1234567890',
    LAUNCH_LINK_SECRET: 'a-launch-link-secret-of-at-least-32-bytes',
    TOKEN_ENCRYPTION_KEYS: `k1:${Buffer.alloc(32, 1).toString('base64')}`,
  };
  const problems = (values: Record<string, string>) => {
    const loaded = loadSettings(values, { inAzure: false });
    return loaded.ok ? [] : loaded.problems;
  };

  it('a REPLACE_WITH_ value is refused as a placeholder, in one line naming the setting', () => {
    expect(problems({ ...configured, LWA_CLIENT_SECRET: 'REPLACE_WITH_YOUR_CLIENT_SECRET' })).toEqual([
      'LWA_CLIENT_SECRET is still a placeholder from local.settings.sample.json (REPLACE_WITH_… or <…>): put the real value in local.settings.json.',
    ]);
  });

  it('a <…> value is refused as a placeholder, not as a bad URL', () => {
    expect(problems({ ...configured, SPAPI_REDIRECT_URI: 'https://<app>.azurewebsites.net/api/lwa-callback' })).toEqual([
      'SPAPI_REDIRECT_URI is still a placeholder from local.settings.sample.json (REPLACE_WITH_… or <…>): put the real value in local.settings.json.',
    ]);
  });

  it('a secret that happens to hold <x> is a secret, not a placeholder', () => {
    expect(problems({ ...configured, LWA_CLIENT_SECRET: 'amzn1.oa2-cs.v1.a<b>c-1234567890' })).toEqual([]);
  });

  it('a Key Vault reference run locally says to put the value itself in local.settings.json', () => {
    expect(problems({ ...configured, LAUNCH_LINK_SECRET: '@Microsoft.KeyVault(SecretUri=https://kv.vault.azure.net/secrets/x/)' })).toEqual([
      'LAUNCH_LINK_SECRET is a Key Vault reference, which only Azure resolves: put the value itself in local.settings.json.',
    ]);
  });

  it('without LOCAL_DB_PATH a configured run stores in its own file, never the sandbox\'s', () => {
    const loaded = loadSettings(configured, { inAzure: false });
    const sandbox = loadSettings(sandboxEnvironment({}, 'http://localhost:7071', join(dir, 's.json')).values, { inAzure: false });
    expect(loaded.ok && loaded.settings.store).toEqual({ kind: 'sqlite', path: '.data/configured.sqlite' });
    expect(sandbox.ok && sandbox.settings.store).toEqual({ kind: 'sqlite', path: '.data/local.sqlite' });
    const chosen = loadSettings({ ...configured, LOCAL_DB_PATH: '.data/local.sqlite' }, { inAzure: false });
    expect(chosen.ok && chosen.settings.store).toEqual({ kind: 'sqlite', path: '.data/local.sqlite' });
  });
});

describe('broken local.settings.json', () => {
  const broken = `{\n  "Values": {\n    "LAUNCH_LINK_SECRET": "${SECRET}"\n    "LWA_CLIENT_ID": "x"\n  }\n}\n`;

  it('is one error naming the file, line and column, without quoting the file', () => {
    writeFileSync(join(dir, 'local.settings.json'), broken);
    let caught: unknown;
    try {
      readLocalSettingValues(dir, {});
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(LocalFileError);
    const message = (caught as Error).message;
    expect(message).toBe("local.settings.json is not valid JSON (line 4, column 5: expected ',' or '}' after a property value): fix it, or remove the file to use the sandbox.");
    expect(message).not.toContain(SECRET);
  });

  it.each([
    ['{"a": x}', 1, 7],
    ['{"a": 1,}', 1, 9],
    ['{\n"a": "1', 2, 8],
    ['', 1, 1],
    ['{"a":1}}', 1, 8],
    ['{"a":"\\q"}', 1, 7],
  ])('the position of the first error in %j is line %i, column %i', (text, line, column) => {
    expect(findJsonProblem(text)).toMatchObject({ line, column });
  });

  it('valid JSON has no problem', () => {
    expect(findJsonProblem('\uFEFF{"Values":{"A":"1","B":[true,false,null,-1.5e3]}}')).toBeUndefined();
  });
});

describe('.data/sandbox-secrets.json', () => {
  const secretsPath = () => join(dir, '.data', 'sandbox-secrets.json');

  it('broken JSON is an error naming the file and how to start over, and the file is left as it was', () => {
    mkdirSync(join(dir, '.data'));
    writeFileSync(secretsPath(), `{"clientSecret": "${SECRET}" "x": 1}`);
    const result = prepareLocalRun({ cwd: dir, env: {} });
    expect(result.ok).toBe(false);
    const [problem] = result.ok ? [] : result.problems;
    expect(problem).toContain(`${secretsPath()} is not valid JSON (line 1, column`);
    expect(problem).toContain('to start over');
    expect(problem).not.toContain(SECRET);
    expect(readFileSync(secretsPath(), 'utf8')).toBe(`{"clientSecret": "${SECRET}" "x": 1}`);
  });

  it('valid JSON without the secrets is an error, never silently regenerated', () => {
    mkdirSync(join(dir, '.data'));
    writeFileSync(secretsPath(), '{"clientSecret": "short"}');
    const result = prepareLocalRun({ cwd: dir, env: {} });
    expect(result).toEqual({
      ok: false,
      problems: [
        `${secretsPath()} does not hold the sandbox's secrets (clientSecret, launchLinkSecret, tokenKey as it generated them): restore it, or delete ${secretsPath()} and the sandbox store (.data/local.sqlite) to start over: sandbox authorizations are then lost.`,
      ],
    });
    expect(readFileSync(secretsPath(), 'utf8')).toBe('{"clientSecret": "short"}');
  });
});

describe('sandbox revocations survive a restart', () => {
  const clock = { now: () => new Date() };
  const redirectUri = 'http://localhost:7071/api/lwa-callback';

  function run(path: string) {
    const sandbox = sandboxEnvironment({}, 'http://localhost:7071', path);
    const clientId = String(sandbox.values['LWA_CLIENT_ID']);
    const lwa = new SandboxLwa({ clientId, clientSecret: sandbox.amazonClientSecret, clock, revocations: sandbox.revocations, saveRevocations: sandbox.saveRevocations });
    const form = (fields: Record<string, string>) => new URLSearchParams({ client_id: clientId, client_secret: sandbox.amazonClientSecret, ...fields });
    const authorize = (seller: string): string => {
      const code = lwa.issueCode({ redirectUri, sellingPartnerId: seller });
      return String(lwa.handleTokenRequest(form({ grant_type: 'authorization_code', code, redirect_uri: redirectUri })).body['refresh_token']);
    };
    const refresh = (token: string) => lwa.handleTokenRequest(form({ grant_type: 'refresh_token', refresh_token: token })).status;
    return { lwa, authorize, refresh };
  }

  it('a refresh token revoked before a restart is still refused after it', () => {
    const path = join(dir, 'secrets.json');
    const first = run(path);
    const token = first.authorize('A1SANDBOXSELLER1');
    first.lwa.revokeSeller('A1SANDBOXSELLER1');
    expect(run(path).refresh(token)).toBe(400);
  });

  it('a re-authorization after the revocation keeps working after a restart', () => {
    const path = join(dir, 'secrets.json');
    const first = run(path);
    first.authorize('A1SANDBOXSELLER1');
    first.lwa.revokeSeller('A1SANDBOXSELLER1');
    const renewed = first.authorize('A1SANDBOXSELLER1');
    expect(run(path).refresh(renewed)).toBe(200);
  });

  it('other sellers are not revoked with it', () => {
    const path = join(dir, 'secrets.json');
    const first = run(path);
    const other = first.authorize('A2SANDBOXSELLER2');
    first.lwa.revokeSeller('A1SANDBOXSELLER1');
    expect(run(path).refresh(other)).toBe(200);
  });
});

describe('SELLER_CENTRAL_URL base-path check', () => {
  const base = 'http://localhost:7071/sandbox/sellercentral';

  it.each([`${base}/NA/../../../x`, `${base}/na/%2e%2e/%2E%2E/x`, `${base}/../sellercentral-evil/na/x`, `${base}/./../x/na`])(
    '%s is not under the base once normalized',
    (uri) => {
      expect(amazonCallbackScope(uri, base)).toBeUndefined();
    },
  );

  it('a URI under the base still gives its scope', () => {
    expect(amazonCallbackScope(`${base}/eu/apps/authorize/confirm`, base)).toBe('EU');
    expect(amazonCallbackScope(`${base}/x/../jp/apps/authorize/confirm`, base)).toBe('JP');
  });
});
