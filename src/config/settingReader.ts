/*
 * How a setting is read: trimmed (blank is unset), an unresolved Key Vault reference or a placeholder reported before
 * any other check, one problem per setting; and how parts are read into the Settings object (a Plan).
 */
import type { z } from 'zod';

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
export class SettingReader {
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

  /** The setting through its schema; undefined when it has a problem (reported here, or before). */
  field<T>(name: SettingName, schema: z.ZodType<T>): { value: T } | undefined {
    if (this.reported.has(name)) return undefined;
    const parsed = schema.safeParse(this.read(name));
    if (parsed.success) return { value: parsed.data };
    this.report(name, parsed.error.issues[0]?.message ?? 'is invalid.');
    return undefined;
  }
}

/** Reads one part of the settings: undefined when it cannot be built (a problem was reported). */
export type Read<T> = (reader: SettingReader) => { value: T } | undefined;
/** How each part of T is read, in the order the settings are read (and their problems listed). */
export type Plan<T> = { [K in keyof T]: Read<T[K]> };

export function setting<T>(name: SettingName, schema: z.ZodType<T>): Read<T> {
  return (reader) => reader.field(name, schema);
}

/** Reads every part, even after one fails, so every problem is reported at once. */
export function group<T extends object>(plan: Plan<T>): Read<T> {
  return (reader) => {
    const value: Partial<T> = {};
    let complete = true;
    for (const key of Object.keys(plan) as (keyof T)[]) {
      const part = plan[key](reader);
      if (part === undefined) complete = false;
      else value[key] = part.value;
    }
    // Complete: every key of the plan was given its part's value.
    return complete ? { value: value as T } : undefined;
  };
}
