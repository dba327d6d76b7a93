import { DUPLICATE_KEY } from './operation.js';

/** T-SQL shapes several procedures share. */

/** THROWn where a row is authorized for another seller: the CATCH answers 'partner_changed'. */
export const PARTNER_CHANGED_ERROR = 50002;
/** THROWn where another customer's authorized row holds the seller (THROW takes numbers from 50000): 'partner_conflict'. */
export const PARTNER_HELD_ERROR = 50003;
/** THROWn where another credential row holds the refresh token being stored: 'token_in_use'. */
export const TOKEN_IN_USE_ERROR = 50004;
/** THROWn where the credential row of a consumed attempt is missing: rolled back and rethrown to the caller. */
export const MISSING_ROW_ERROR = 50001;

/**
 * `statements` as one transaction that answers `SELECT '<success>' AS outcome`, or, when the partner index refuses a
 * write (duplicate key) or a guard THROWs, rolls everything back and answers 'partner_conflict' / 'partner_changed' / 'token_in_use'.
 * XACT_ABORT ON: any error dooms the transaction, so the CATCH can only roll back, and a client timeout cannot leave
 * a transaction open on a pooled connection. Any other error is rethrown.
 */
export function partnerGuarded(success: string, statements: string): string {
  return `SET XACT_ABORT ON;
  BEGIN TRY
    BEGIN TRANSACTION;
    ${statements}
    COMMIT TRANSACTION;
    SELECT '${success}' AS outcome;
  END TRY
  BEGIN CATCH
    IF XACT_STATE() <> 0 ROLLBACK TRANSACTION;
    IF ERROR_NUMBER() = ${PARTNER_CHANGED_ERROR} SELECT 'partner_changed' AS outcome;
    ELSE IF ERROR_NUMBER() = ${TOKEN_IN_USE_ERROR} SELECT 'token_in_use' AS outcome;
    ELSE IF ERROR_NUMBER() IN (${DUPLICATE_KEY}, ${PARTNER_HELD_ERROR}) SELECT 'partner_conflict' AS outcome;
    ELSE THROW;
  END CATCH;`;
}

/**
 * A statement that copies `columns` of the rows matching `where` into the table variable `into` as they are now, and
 * keeps those rows locked until the transaction ends (it writes them unchanged), so the UPDATE that follows in the
 * same transaction changes exactly the values read. It stands in for `UPDATE ... OUTPUT deleted.*`, which Babelfish
 * for PostgreSQL 4.3 cannot run on a table outside the login's default schema and misreads beside unqualified column
 * names; OUTPUT inserted works on both. A write, not a lock hint: SQL Server (also under READ COMMITTED SNAPSHOT) and
 * PostgreSQL lock a row they update.
 */
export function readBeforeUpdate(table: string, columns: readonly [string, ...string[]], into: string, where: string): string {
  const [first] = columns;
  return `UPDATE ${table} SET ${first} = ${first}
    OUTPUT ${columns.map((c) => `inserted.${c}`).join(', ')} INTO ${into} (${columns.join(', ')})
    WHERE ${where};`;
}

/**
 * `update`; then, when it changed no row and `exists` finds none, `insert`: @<variable> ends as the rows written. Two
 * callers inserting at once: the second INSERT fails with a duplicate key (see duplicateKeyMeansNone).
 */
export function updateElseInsert(variable: string, update: string, exists: string, insert: string): string {
  return `${update};
    SET @${variable} = @@ROWCOUNT;
    IF @${variable} = 0 AND NOT EXISTS (${exists})
    BEGIN
      ${insert};
      SET @${variable} = @@ROWCOUNT;
    END;`;
}

/** `body` as one transaction answering `SELECT @<variable>`; a duplicate key (a racing insert) rolls back and answers 0. */
export function duplicateKeyMeansNone(variable: string, body: string): string {
  return `SET XACT_ABORT ON;
  DECLARE @${variable} INT = 0;
  BEGIN TRY
    BEGIN TRANSACTION;
    ${body}
    COMMIT TRANSACTION;
  END TRY
  BEGIN CATCH
    IF XACT_STATE() <> 0 ROLLBACK TRANSACTION;
    IF ERROR_NUMBER() NOT IN (${DUPLICATE_KEY}) THROW;
    SET @${variable} = 0;
  END CATCH;
  SELECT @${variable} AS ${variable};`;
}

/**
 * `insert` inside a transaction that must go on when a concurrent writer inserted the same key first: XACT_ABORT is
 * off for this one statement, so its duplicate key ends only the statement (the transaction stays committable) and
 * is ignored; any other error is rethrown. XACT_ABORT is on again after it.
 */
export function ignoringDuplicateKey(insert: string): string {
  return `SET XACT_ABORT OFF;
    BEGIN TRY
      ${insert};
    END TRY
    BEGIN CATCH
      IF ERROR_NUMBER() NOT IN (${DUPLICATE_KEY}) THROW;
    END CATCH;
    SET XACT_ABORT ON;`;
}
