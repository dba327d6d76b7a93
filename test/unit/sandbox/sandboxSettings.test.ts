import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadSettings } from '../../../src/config/settings.js';
import { isSandbox, sandboxEnvironment } from '../../../src/sandbox/sandboxSettings.js';

describe('sandbox settings', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'sandbox-settings-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('is sandbox only without LWA credentials and outside Azure', () => {
    expect(isSandbox({}, false)).toBe(true);
    expect(isSandbox({ LWA_CLIENT_ID: '  ' }, false)).toBe(true);
    expect(isSandbox({ LWA_CLIENT_ID: 'amzn1.application-oa2-client.x' }, false)).toBe(false);
    expect(isSandbox({ LWA_TOKEN_URL: 'https://api.amazon.com/auth/o2/token' }, false)).toBe(false);
    // A wrong secret alone keeps the sandbox, whose Amazon then refuses it.
    expect(isSandbox({ LWA_CLIENT_SECRET: 'wrong' }, false)).toBe(true);
    expect(isSandbox({}, true)).toBe(false);
  });

  it('generates a complete, valid set of settings once and keeps it across restarts', () => {
    const path = join(dir, '.data', 'sandbox-secrets.json');
    const first = sandboxEnvironment({}, 'http://localhost:7071', path).values;
    const second = sandboxEnvironment({}, 'http://localhost:7071', path).values;
    expect(second).toEqual(first);
    expect(statSync(path).mode & 0o077).toBe(0);
    expect(JSON.parse(readFileSync(path, 'utf8'))).toHaveProperty('clientSecret', first['LWA_CLIENT_SECRET']);
    const loaded = loadSettings(first, { inAzure: false });
    expect(loaded.ok).toBe(true);
    expect(loaded.ok && loaded.settings).toMatchObject({
      redirectUri: 'http://localhost:7071/api/lwa-callback',
      sellerCentralUrl: 'http://localhost:7071/sandbox/sellercentral',
      lwa: { tokenUrl: 'http://localhost:7071/sandbox/lwa/auth/o2/token' },
      store: { kind: 'sqlite', path: '.data/local.sqlite' }, // the sandbox's own file, never a configured run's
    });
  });

  it('lets every configured value win over what it generates, and ignores blank ones', () => {
    const { values, amazonClientSecret } = sandboxEnvironment(
      { LAUNCH_LINK_SECRET: 'configured-launch-secret-0123456789abcdef', STATE_TTL_SECONDS: '120', SPAPI_REDIRECT_URI: ' ', LWA_CLIENT_SECRET: 'wrong' },
      'http://localhost:8080',
      join(dir, 's.json'),
    );
    expect(values['LWA_CLIENT_SECRET']).toBe('wrong');
    expect(amazonClientSecret).not.toBe('wrong');
    expect(amazonClientSecret).toBe(JSON.parse(readFileSync(join(dir, 's.json'), 'utf8')).clientSecret);
    expect(values['LAUNCH_LINK_SECRET']).toBe('configured-launch-secret-0123456789abcdef');
    expect(values['STATE_TTL_SECONDS']).toBe('120');
    expect(values['SPAPI_REDIRECT_URI']).toBe('http://localhost:8080/api/lwa-callback');
  });
});
