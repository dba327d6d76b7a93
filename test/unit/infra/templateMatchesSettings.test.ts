import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SETTING_NAMES, type SettingValues } from '../../../src/config/settingReader.js';
import { loadSettings } from '../../../src/config/settings.js';
import { connectionStringAuthentication } from '../../../src/config/sqlConnectionString.js';

/**
 * The Bicep template (infra/) against the settings module. No Bicep compiler runs on these machines, so this reads
 * the template as text: the `appSettings` and `optionalAppSettings` objects of infra/main.bicep (one `NAME: value`
 * per line) and the host settings of infra/app/api.bicep. What settings.ts requires in Azure is asked of
 * settings.ts itself (the problems of an empty set in Azure), never listed here.
 */
const infra = new URL('../../../infra/', import.meta.url);
const mainBicep = readFileSync(new URL('main.bicep', infra), 'utf8');
const apiBicep = readFileSync(new URL('app/api.bicep', infra), 'utf8');
const allBicep = ['main.bicep', 'app/api.bicep', 'app/db.bicep'].map((file) => readFileSync(new URL(file, infra), 'utf8')).join('\n');

/** The text from the line `header` matches (`var x =`, `module x '…' =`) to its closing bracket, strings and comments skipped. */
function block(text: string, header: string): string {
  const start = text.search(new RegExp(`^${header} `, 'm'));
  if (start < 0) throw new Error(`${header} not found`);
  let depth = 0;
  let inString = false;
  for (let i = start + header.length; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === "'") inString = false;
      continue;
    }
    if (c === '/' && text[i + 1] === '/') i = text.indexOf('\n', i);
    else if (c === "'") inString = true;
    else if (c === '{' || c === '(' || c === '[') depth++;
    else if (c === '}' || c === ')' || c === ']') {
      depth--;
      if (depth === 0) return text.slice(start, i + 1);
    }
  }
  throw new Error(`${header} is not closed`);
}

/** `NAME: value` lines of a block, keyed by name (comments skipped). */
function entries(block: string): Map<string, string> {
  const found = new Map<string, string>();
  for (const line of block.split('\n')) {
    const match = /^\s*([A-Za-z][A-Za-z0-9_]*)\s*:\s*(\S.*?)\s*$/.exec(line);
    if (match?.[1] !== undefined && match[2] !== undefined && !line.trim().startsWith('//')) found.set(match[1], match[2]);
  }
  return found;
}

const appSettings = entries(block(mainBicep, 'var appSettings ='));
const optionalAppSettings = entries(block(mainBicep, 'var optionalAppSettings ='));
const hostSettings = entries(block(apiBicep, 'var hostSettings ='));
const allAppSettings = new Map([...appSettings, ...optionalAppSettings]);

/** Every secret the app reads: each must reach it as a Key Vault reference. */
const SECRET_SETTINGS = ['LWA_CLIENT_SECRET', 'LWA_CLIENT_SECRET_PREVIOUS', 'LAUNCH_LINK_SECRET', 'TOKEN_ENCRYPTION_KEYS', 'EVENTS_WEBHOOK_SECRET'];
const KEY_VAULT_REFERENCE = /^'@Microsoft\.KeyVault\(SecretUri=\$\{keyVault\.outputs\.uri\}secrets\/([a-z0-9-]+)\/\)'$/;

const CLIENT_ID = randomUUID();
/** What the vault holds, by secret name, once provisioned: values the settings module accepts. */
const VAULT: Record<string, string> = {
  'lwa-client-secret': 'amzn1.oa2-cs.v1.sample-current-secret',
  'lwa-client-secret-previous': 'amzn1.oa2-cs.v1.sample-previous-secret',
  'launch-link-secret': 'sample-launch-link-secret-of-at-least-32-bytes',
  'token-encryption-keys': `k1:${Buffer.alloc(32, 7).toString('base64')}`,
  'events-webhook-secret': `whsec_${Buffer.alloc(32, 9).toString('base64')}`,
};
/** Sample values of the template's parameters and variables, as azd would pass them. */
const PARAMETERS: Record<string, string> = {
  spapiApplicationId: 'amzn1.sp.solution.00000000-1111-2222-3333-444444444444',
  lwaClientId: 'amzn1.application-oa2-client.sample',
  eventsWebhookUrl: 'https://app.shipica.example/hooks/spapi',
  oxWebAppLinkUrl: 'https://app.shipica.example/amazon/link',
  authResultUrl: 'https://app.shipica.example/amazon/result',
  lwaClientSecretExpiresAt: '2027-05-20',
};

/** A Bicep value as the app will read it: `${…}` filled in, references resolved, parameters given a sample. */
function evaluate(expression: string): string {
  const literal = /^'(.*)'$/.exec(expression);
  if (literal?.[1] !== undefined) {
    const text = literal[1].replace(/\$\{([^}]+)\}/g, (_, inner: string) => {
      if (inner.includes('clientId')) return CLIENT_ID;
      if (inner.includes('fullyQualifiedDomainName')) return 'sql-sample.database.windows.net';
      if (inner === 'keyVault.outputs.uri') return 'https://kv-sample.vault.azure.net/';
      return 'sample';
    });
    const reference = /^@Microsoft\.KeyVault\(SecretUri=https:\/\/kv-sample\.vault\.azure\.net\/secrets\/([a-z0-9-]+)\/\)$/.exec(text);
    if (reference?.[1] !== undefined) {
      const secret = VAULT[reference[1]];
      if (secret === undefined) throw new Error(`no sample for vault secret ${reference[1]}`);
      return secret;
    }
    return text;
  }
  if (expression === 'redirectUri') {
    const fallback = /^var redirectUri = empty\(spapiRedirectUri\) \? ('[^']*') : spapiRedirectUri$/m.exec(mainBicep)?.[1];
    if (fallback === undefined) throw new Error('var redirectUri is not the expected form');
    return evaluate(fallback);
  }
  if (expression === 'string(spapiDraftApp)') return 'false';
  const parameter = PARAMETERS[expression];
  if (parameter === undefined) throw new Error(`no sample for the Bicep expression ${expression}: add one`);
  return parameter;
}

describe('infra/main.bicep app settings', () => {
  it('set, unconditionally, every setting settings.ts requires in Azure', () => {
    const result = loadSettings({}, { inAzure: true });
    expect(result.ok).toBe(false);
    const required = result.ok ? [] : result.problems.map((problem) => problem.split(' ')[0] ?? '');
    // Asked of settings.ts, so it must name real settings and not come back empty.
    expect(required.length).toBeGreaterThanOrEqual(5);
    for (const name of required) expect(SETTING_NAMES as readonly string[]).toContain(name);
    expect(required.filter((name) => !appSettings.has(name))).toEqual([]);
  });

  it('set only settings the app reads', () => {
    expect([...allAppSettings.keys()].filter((name) => !(SETTING_NAMES as readonly string[]).includes(name))).toEqual([]);
  });

  it('give every secret as a Key Vault reference to a secret the vault module writes, and nothing else as one', () => {
    for (const name of SECRET_SETTINGS) expect(SETTING_NAMES as readonly string[]).toContain(name);
    for (const [name, value] of allAppSettings) {
      const reference = KEY_VAULT_REFERENCE.exec(value);
      expect({ name, reference: reference !== null }).toEqual({ name, reference: SECRET_SETTINGS.includes(name) });
      if (reference?.[1] !== undefined) expect(block(mainBicep, 'module keyVault')).toContain(`name: '${reference[1]}'`);
    }
    expect(SECRET_SETTINGS.filter((name) => !allAppSettings.has(name))).toEqual([]);
  });

  it('pass the settings validation in Azure as the app will read them (references resolved, every optional one set)', () => {
    const values: SettingValues = Object.fromEntries([...allAppSettings].map(([name, value]) => [name, evaluate(value)]));
    const result = loadSettings(values, { inAzure: true });
    expect(result.ok ? [] : result.problems).toEqual([]);
    if (!result.ok) return;
    expect(result.settings.redirectUri).toMatch(/^https:\/\/[^/]+\.azurewebsites\.net\/api\/lwa-callback$/);
    expect(result.settings.store.kind).toBe('mssql');
    // The app's own identity, by client id; no password, so no secret in the setting.
    expect(values['SQL_CONNECTION_STRING']).toContain(`User Id=${CLIENT_ID}`);
    expect(values['SQL_CONNECTION_STRING']).not.toMatch(/password|pwd/i);
    expect(connectionStringAuthentication(values['SQL_CONNECTION_STRING'] ?? '')).toEqual({
      ok: true,
      authentication: { kind: 'entra', type: 'azure-active-directory-msi-app-service', clientId: CLIENT_ID },
    });
    // And the required ones alone pass too: no optional setting is needed.
    const requiredOnly = Object.fromEntries([...appSettings].map(([name, value]) => [name, evaluate(value)]));
    expect(loadSettings(requiredOnly, { inAzure: true }).ok).toBe(true);
  });
});

describe('infra/ host configuration', () => {
  it('uses host storage through the user-assigned identity: no connection string, no shared key', () => {
    expect(hostSettings.get('AzureWebJobsStorage__credential')).toBe("'managedidentity'");
    expect(hostSettings.get('AzureWebJobsStorage__clientId')).toBe('identityClientId');
    expect(hostSettings.has('AzureWebJobsStorage__blobServiceUri')).toBe(true);
    expect(hostSettings.has('AzureWebJobsStorage')).toBe(false);
    expect(mainBicep).toMatch(/^\s*allowSharedKeyAccess: false$/m);
    expect(allBicep).not.toMatch(/listKeys|AccountKey=/);
  });

  it('runs Node 22 on Flex Consumption, resolving Key Vault references with the user-assigned identity', () => {
    expect(mainBicep).toMatch(/name: 'FC1'\s+tier: 'FlexConsumption'/);
    expect(apiBicep).toMatch(/runtime: \{\s+name: 'node'\s+version: '22'\s+\}/);
    expect(apiBicep).toMatch(/^\s*keyVaultAccessIdentityResourceId: identityId$/m);
    expect(apiBicep).toMatch(/userAssignedResourceIds: \[identityId\]/);
    expect(apiBicep).toMatch(/type: 'UserAssignedIdentity'/);
  });

  it('sends telemetry without local auth, with Monitoring Metrics Publisher for the identity', () => {
    expect(mainBicep).toMatch(/^\s*disableLocalAuth: true$/m);
    expect(mainBicep).toMatch(/workspaceResourceId: logAnalytics\.outputs\.resourceId/);
    expect(mainBicep).toContain("roleDefinitionIdOrName: 'Monitoring Metrics Publisher'");
    expect(hostSettings.get('APPLICATIONINSIGHTS_AUTHENTICATION_STRING')).toBe("'ClientId=${identityClientId};Authorization=AAD'");
  });

  it('has an Entra-only SQL server and an RBAC vault', () => {
    expect(allBicep).toMatch(/^\s*azureADOnlyAuthentication: true$/m);
    expect(allBicep).not.toMatch(/administratorLogin/);
    expect(mainBicep).toMatch(/^\s*enableRbacAuthorization: true$/m);
  });

  it('pins every Azure Verified Module to a version', () => {
    const files = ['main.bicep', ...readdirSync(new URL('app/', infra)).map((file) => join('app', file))];
    const references = files.flatMap((file) => [...readFileSync(new URL(file, infra), 'utf8').matchAll(/'br\/public:([^']+)'/g)].map((m) => m[1] ?? ''));
    expect(references.length).toBeGreaterThanOrEqual(8);
    for (const reference of references) expect(reference).toMatch(/^avm\/res\/[a-z-]+\/[a-z-]+:\d+\.\d+\.\d+$/);
  });
});
