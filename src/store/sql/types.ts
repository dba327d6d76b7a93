import { LIMITS } from '../../credentials/index.js';

/**
 * Every column's SQL type, declared once: the T-SQL parameter declarations of the stored procedures, the mssql input
 * types and the checks a value passes before either engine sees it all come from here (sql/*.sql creates the same
 * types; the SQL Server contract suite reads them back).
 */
export type SqlKind = 'nvarchar' | 'varchar' | 'datetime' | 'int' | 'bigint';

export interface SqlType<K extends SqlKind = SqlKind> {
  readonly kind: K;
  /** The column, for messages (a generic type such as a date names the parameter instead). */
  readonly column?: string;
  /** Characters, for the text kinds. */
  readonly length: number;
  /**
   * SQL Server ignores trailing spaces when it compares strings ('a' = 'a '), whatever the collation: a key column
   * refuses them (and the empty string), so two such values can never share a row.
   */
  readonly key?: boolean;
}

const nvarchar = (column: string, length: number, key = false): SqlType<'nvarchar'> => ({ kind: 'nvarchar', column, length, key });
/** ASCII only: a VARCHAR parameter would silently turn other characters into '?', so they are refused instead. */
const varchar = (column: string, length: number): SqlType<'varchar'> => ({ kind: 'varchar', column, length });
const datetime: SqlType<'datetime'> = { kind: 'datetime', length: 0 };
const int: SqlType<'int'> = { kind: 'int', length: 0 };
const bigint: SqlType<'bigint'> = { kind: 'bigint', length: 0 };

/** The columns by name (a name means the same type in every table that has it). */
export const COLUMNS = {
  customer_id: nvarchar('customer_id', LIMITS.customerId, true),
  scope: varchar('scope', 2),
  region: varchar('region', 2),
  marketplace: varchar('marketplace', 2),
  selling_partner_id: varchar('selling_partner_id', LIMITS.sellingPartnerId),
  status: varchar('status', 16),
  last_error: nvarchar('last_error', LIMITS.lastError),
  lwa_refresh_token: varchar('lwa_refresh_token', LIMITS.encryptedRefreshToken),
  refresh_token_fingerprint: varchar('refresh_token_fingerprint', 80),
  spapi_oauth_code: varchar('spapi_oauth_code', LIMITS.encryptedCode),
  mws_auth_token: varchar('mws_auth_token', LIMITS.encryptedMwsAuthToken),
  attempt_id: bigint,
  state_hash: varchar('state_hash', 64),
  flow: varchar('flow', 32),
  outcome: varchar('outcome', 16),
  reason: nvarchar('reason', 1000),
  lwa_error: nvarchar('lwa_error', LIMITS.lwaError),
  lwa_error_description: nvarchar('lwa_error_description', LIMITS.lwaErrorDescription),
  credential_generation: varchar('credential_generation', LIMITS.credentialGeneration),
  access_token: varchar('access_token', LIMITS.encryptedAccessToken),
  lease_owner: varchar('lease_owner', LIMITS.leaseOwner),
  event_id: bigint,
  event_type: varchar('event_type', 40),
  data: nvarchar('data', 4000),
  delivery_state: varchar('delivery_state', 16),
  last_delivery_error: nvarchar('last_delivery_error', 500),
  check_outcome: varchar('check_outcome', 24),
  check_error: nvarchar('check_error', 500),
  marketplace_ids: varchar('marketplace_ids', 1000),
  country_codes: varchar('country_codes', 400),
  store_name: nvarchar('store_name', 200),
  flag: varchar('flag', 32),
  incident_kind: varchar('kind', 40),
  incident_detail: nvarchar('detail', 500),
  datetime,
  int,
  bigint,
  /** A comma-framed list handed to a batch as one value (`,US,CA,`). */
  list: varchar('list', 4000),
} as const;

/** The TypeScript value of a kind. */
export type ValueOf<T extends SqlType> = T['kind'] extends 'datetime' ? Date : T['kind'] extends 'int' | 'bigint' ? number : string;

/** A statement's or operation's parameters: name → type. */
export type ParamTypes = Readonly<Record<string, SqlType>>;
export type ParamValues<P extends ParamTypes> = { [K in keyof P]: ValueOf<P[K]> | null };

/** The T-SQL declaration of a type. */
export function tsqlType(type: SqlType): string {
  switch (type.kind) {
    case 'nvarchar':
      return `NVARCHAR(${type.length})`;
    case 'varchar':
      return `VARCHAR(${type.length})`;
    case 'datetime':
      return 'DATETIME2(3)';
    case 'int':
      return 'INT';
    case 'bigint':
      return 'BIGINT';
  }
}

/** Why `value` cannot be stored as `name` of `type`, or undefined when it can. Never repeats the value. */
export function unstorable(parameter: string, type: SqlType, value: unknown): string | undefined {
  if (value === null || value === undefined) return undefined;
  const name = type.column ?? parameter;
  switch (type.kind) {
    case 'nvarchar':
    case 'varchar':
      if (typeof value !== 'string') return `${name} must be text`;
      if (value.length > type.length) return `${name} is longer than ${type.length} characters`;
      if (type.kind === 'varchar' && !/^[\x00-\x7f]*$/.test(value)) return `${name} must be ASCII`;
      if (type.key === true && value.length === 0) return `${name} is empty`;
      if (type.key === true && value.endsWith(' ')) return `${name} ends with a space, which SQL Server does not distinguish`;
      return undefined;
    case 'datetime':
      return value instanceof Date && !Number.isNaN(value.getTime()) ? undefined : `${name} must be a date`;
    case 'int':
    case 'bigint':
      return typeof value === 'number' && Number.isSafeInteger(value) ? undefined : `${name} must be a whole number`;
  }
}

/** Cuts text to the column (for free text such as Amazon's error descriptions); null stays null. */
export const clip = (value: string | null | undefined, type: SqlType): string | null =>
  value === undefined || value === null ? null : value.slice(0, type.length);
