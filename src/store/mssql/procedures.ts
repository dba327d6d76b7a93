import { createHash } from 'node:crypto';
import { OPERATIONS } from '../operations/index.js';
import type { ProcedureSource } from '../operations/operation.js';
import { mssqlDialect } from '../sql/dialect.js';
import { tsqlType } from '../sql/types.js';

/**
 * The stored procedures db:migrate creates, one per operation (src/store/operations/). A procedure's name ends in the
 * hash of its definition, `spapi_<operation>_<8 hex>`: a changed definition is a new procedure, created beside the
 * old one, so instances still running the previous code keep calling theirs during a deployment, and nothing is
 * ever altered in place. `npm run db:migrate` records the set it created as one schema_migrations row
 * (PROCEDURES_VERSION), which /api/health requires like any migration.
 */
function definition(operation: ProcedureSource, schema: string, name: string): string {
  const parameters = Object.entries(operation.params).map(([parameter, type]) => `@${parameter} ${tsqlType(type)}`);
  return `CREATE PROCEDURE [${schema}].[${name}]
  ${parameters.join(',\n  ')}
AS
BEGIN
  SET NOCOUNT ON;
  ${operation.tsql(mssqlDialect(schema))}
END;`;
}

const names = new WeakMap<ProcedureSource, string>();

/** The procedure's name: the operation's and the hash of its definition (written for a fixed schema name, so every schema shares it). */
export function procedureName(operation: ProcedureSource): string {
  let name = names.get(operation);
  if (name === undefined) {
    const hash = createHash('sha256').update(definition(operation, 'schema', operation.name), 'utf8').digest('hex').slice(0, 8);
    names.set(operation, (name = `spapi_${operation.name}_${hash}`));
  }
  return name;
}

/** CREATE PROCEDURE of an operation for a schema: what db:migrate runs, and what a DBA reads. */
export function procedureDefinition(operation: ProcedureSource, schema: string): string {
  return definition(operation, schema, procedureName(operation));
}

/** The schema_migrations row that says this code's procedures exist. */
export const PROCEDURES_VERSION = `procedures_${createHash('sha256')
  .update(OPERATIONS.map(procedureName).join(','), 'utf8')
  .digest('hex')
  .slice(0, 8)}`;
