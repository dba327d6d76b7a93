import { readFileSync } from 'node:fs';
import type sql from 'mssql';
import { describe, expect, it } from 'vitest';
import type { CredentialStore } from '../../../src/credentials/index.js';
import { sealMwsTokensStep } from '../../../src/cli/dbMigrate.js';
import { applyMigrations, listMigrationFiles, portabilityProblems, renderMigration, UNGUARDED_INDEX } from '../../../src/store/mssql/migrations.js';
import { openSqliteStore } from '../../../src/store/openStore.js';
import { procedureDefinition, procedureName, PROCEDURES_VERSION } from '../../../src/store/mssql/procedures.js';
import { OPERATIONS } from '../../../src/store/operations/index.js';

/**
 * sql/NNN_*.sql must run unchanged on SQL Server 2016+ / Azure SQL and on Babelfish for PostgreSQL 4.3, and hold to
 * the project's rules (keys, not lock hints; no MERGE). No server here: the text is scanned. Whether the statements
 * do what they should on a server is test/contract/sqlServer.test.ts's job (MSSQL_TEST_CONNECTION_STRING).
 */
const FILES = listMigrationFiles();

describe('sql/*.sql', () => {
  it('are there, numbered from 001', () => {
    expect(FILES.map((f) => f.version.slice(0, 3)).slice(0, 5)).toEqual(['001', '002', '003', '004', '005']);
    expect(FILES.map((f) => f.version)).toEqual(expect.arrayContaining(['007_events', '008_credential_sweep']));
  });

  it.each(FILES.map((f) => [f.version, f.path] as const))('%s uses only statements valid on SQL Server and Babelfish', (_version, path) => {
    expect(portabilityProblems(readFileSync(path, 'utf8'))).toEqual([]);
  });

  it.each(FILES.map((f) => [f.version, f.path] as const))('%s renders as one batch for a schema', (_version, path) => {
    const rendered = renderMigration(readFileSync(path, 'utf8'), 'spapi_test');
    expect(rendered).toContain('[spapi_test].');
    expect(rendered).not.toContain('{{');
  });

  it('widen a column only after SET ANSI_NULL_DFLT_ON ON, so a column altered without NULL stays nullable', () => {
    for (const file of FILES) {
      const text = readFileSync(file.path, 'utf8').replace(/--[^\n]*/g, '');
      const alter = text.search(/\bALTER\s+COLUMN\b/i);
      if (alter === -1) continue;
      const setting = text.search(/SET ANSI_NULL_DFLT_ON ON;/);
      expect(setting, file.version).toBeGreaterThan(-1);
      expect(setting, file.version).toBeLessThan(alter);
    }
  });

  it('alter a column only with every view the migrations create dropped before and created again after', () => {
    // Babelfish (PostgreSQL) refuses to alter the type of a column a view uses; SQL Server allows it.
    const strip = (text: string): string => text.replace(/--[^\n]*/g, '');
    const views = [...new Set(FILES.flatMap((f) => [...strip(readFileSync(f.path, 'utf8')).matchAll(/CREATE\s+VIEW\s+(\S+)/gi)].map((m) => m[1] ?? '')))];
    expect(views).toEqual(['[{{schema}}].[sp_api_credentials_status]']);
    for (const file of FILES) {
      const text = strip(readFileSync(file.path, 'utf8'));
      const first = text.search(/\bALTER\s+COLUMN\b/i);
      if (first === -1) continue;
      const last = text.lastIndexOf(text.match(/\bALTER\s+COLUMN\b[^\n]*/gi)?.at(-1) ?? '');
      for (const view of views) {
        const drop = text.indexOf(`DROP VIEW ${view}`);
        expect(drop, `${file.version} drops ${view}`).toBeGreaterThan(-1);
        expect(drop, file.version).toBeLessThan(first);
        expect(text.lastIndexOf(`CREATE VIEW ${view}`), `${file.version} creates ${view} again`).toBeGreaterThan(last);
      }
    }
  });

  it('create the indexes the SQL Server suite expects, each once: created again only after a later file dropped it', () => {
    // 010_far_east_scope re-keys three indexes from region to scope: it drops each by name, then creates it again.
    const live = new Set<string>();
    for (const file of FILES) {
      const text = readFileSync(file.path, 'utf8').replace(/--[^\n]*/g, '');
      for (const m of text.matchAll(/\bDROP\s+INDEX\s+(\w+)|CREATE\s+(?:UNIQUE\s+)?NONCLUSTERED\s+INDEX\s+(\w+)/gi)) {
        const [, dropped, created] = m;
        if (dropped !== undefined) {
          expect(live.has(dropped), `${file.version} drops ${dropped}, which exists`).toBe(true);
          live.delete(dropped);
        } else if (created !== undefined) {
          expect(live.has(created), `${file.version} creates ${created} while it exists`).toBe(false);
          live.add(created);
        }
      }
    }
    expect([...live].sort()).toEqual([
      'ix_sp_api_auth_attempts_created',
      'ix_sp_api_auth_attempts_customer',
      'ix_sp_api_events_occurred',
      'ix_sp_api_events_queue',
      'ux_sp_api_auth_attempts_state',
      'ux_sp_api_credentials_fingerprint',
      'ux_sp_api_credentials_partner',
    ]);
  });

});

describe('portabilityProblems', () => {
  const table = `IF OBJECT_ID(N'[s].[t]', N'U') IS NULL
BEGIN
  CREATE TABLE [s].[t] (id INT NOT NULL, v VARCHAR(10) NULL);
  CREATE UNIQUE NONCLUSTERED INDEX ux_t_v ON [s].[t] (v) WHERE v IS NOT NULL;
END;`;

  it('finds nothing in a table created with its index in one guarded block', () => {
    expect(portabilityProblems(table)).toEqual([]);
  });

  it.each([
    ['WITH CHECK ADD', 'ALTER TABLE [s].[t] WITH CHECK ADD CONSTRAINT ck_t CHECK (id > 0);'],
    ['WITH NOCHECK ADD', 'ALTER TABLE [s].[t] WITH NOCHECK ADD CONSTRAINT ck_t CHECK (id > 0);'],
    ['CREATE OR ALTER', "EXEC (N'CREATE OR ALTER VIEW [s].[v] AS SELECT 1 AS one');"],
    ['sys.indexes', "IF NOT EXISTS (SELECT 1 FROM sys.indexes WHERE name = N'ux_t_v') PRINT 'x';"],
    ['MERGE', 'MERGE [s].[t] AS t USING (SELECT 1 AS id) AS s ON t.id = s.id WHEN NOT MATCHED THEN INSERT (id) VALUES (s.id);'],
    ['UPDLOCK', 'SELECT id FROM [s].[t] WITH (UPDLOCK, HOLDLOCK) WHERE id = 1;'],
    ['NOLOCK', 'SELECT id FROM [s].[t] WITH (NOLOCK);'],
    ['SERIALIZABLE', 'SET TRANSACTION ISOLATION LEVEL SERIALIZABLE;'],
    ['NULL in ALTER COLUMN', 'ALTER TABLE [s].[t] ALTER COLUMN v VARCHAR(20) NULL;'],
    ['NOT NULL in ALTER COLUMN', 'ALTER TABLE [s].[t] ALTER COLUMN v VARCHAR(20) NOT NULL;'],
    ['COLLATE in ALTER COLUMN', 'ALTER TABLE [s].[t] ALTER COLUMN v VARCHAR(20) COLLATE Latin1_General_100_BIN2;'],
    ['COL_LENGTH', "IF COL_LENGTH(N'[s].[t]', N'v') < 20 PRINT 'x';"],
  ])('refuses %s', (_name, statement) => {
    expect(portabilityProblems(`${table}\n${statement}`)).toHaveLength(1);
  });

  it('refuses an index created outside the block that creates its table', () => {
    const late = `${table}\nIF OBJECT_ID(N'[s].[t]', N'U') IS NOT NULL\nBEGIN\n  CREATE INDEX ix_t_id ON [s].[t] (id);\nEND;`;
    expect(portabilityProblems(late)).toEqual([UNGUARDED_INDEX]);
  });

  it('finds nothing in an index created in the block that adds a column, after the column', () => {
    const added = `${table}\nIF NOT EXISTS (SELECT 1 FROM sys.columns WHERE object_id = OBJECT_ID(N'[s].[t]') AND name = N'w')\nBEGIN\n  ALTER TABLE [s].[t]\n    ADD w INT NULL;\n  CREATE NONCLUSTERED INDEX ix_t_w ON [s].[t] (w);\nEND;`;
    expect(portabilityProblems(added)).toEqual([]);
  });

  it('refuses an index in a block that only adds a constraint', () => {
    const constraint = `${table}\nIF OBJECT_ID(N'ck_t', N'C') IS NULL\nBEGIN\n  ALTER TABLE [s].[t] ADD CONSTRAINT ck_t CHECK (id > 0);\n  CREATE NONCLUSTERED INDEX ix_t_id ON [s].[t] (id);\nEND;`;
    expect(portabilityProblems(constraint)).toEqual([UNGUARDED_INDEX]);
  });

  it('refuses an index created before the column is added in its block', () => {
    const early = `${table}\nIF NOT EXISTS (SELECT 1 FROM sys.columns WHERE object_id = OBJECT_ID(N'[s].[t]') AND name = N'w')\nBEGIN\n  CREATE NONCLUSTERED INDEX ix_t_id ON [s].[t] (id);\n  ALTER TABLE [s].[t] ADD w INT NULL;\nEND;`;
    expect(portabilityProblems(early)).toEqual([UNGUARDED_INDEX]);
  });

  it('refuses an unguarded index at the top of the file', () => {
    expect(portabilityProblems('CREATE NONCLUSTERED INDEX ix_t_id ON [s].[t] (id);')).toHaveLength(1);
  });

  it('ignores the words in comments, where the headers explain them', () => {
    expect(portabilityProblems(`-- no CREATE OR ALTER, no WITH CHECK ADD, no sys.indexes, no UPDLOCK, no MERGE\n/* SERIALIZABLE */\n${table}`)).toEqual([]);
  });

  it("reads CASE ... END inside a view's string as no block end", () => {
    const view = `${table}\nEXEC (N'CREATE VIEW [s].[v] AS SELECT CASE WHEN id > 0 THEN ''a'' END AS x FROM [s].[t]');`;
    expect(portabilityProblems(view)).toEqual([]);
  });

  it('makes renderMigration refuse the file, so db:migrate sends nothing', () => {
    expect(() => renderMigration("EXEC (N'CREATE OR ALTER VIEW [{{schema}}].[v] AS SELECT 1 AS one');", 'dbo')).toThrow(/CREATE OR ALTER/);
  });
});

/** A recording stand-in for the mssql pool: each request's inputs and text, answered with `applied`. */
function recordingPool(applied: number): { pool: sql.ConnectionPool; sent: { text: string; inputs: Map<string, unknown> }[] } {
  const sent: { text: string; inputs: Map<string, unknown> }[] = [];
  const stand = {
    request: () => {
      const inputs = new Map<string, unknown>();
      const request = {
        input: (name: string, _type: unknown, value: unknown) => {
          inputs.set(name, value);
          return request;
        },
        query: (text: string) => {
          sent.push({ text, inputs });
          const recordset = [{ applied }];
          return Promise.resolve({ recordset, recordsets: [recordset], rowsAffected: [] });
        },
      };
      return request;
    },
  };
  return { pool: stand as unknown as sql.ConnectionPool, sent };
}

describe('applyMigrations', () => {
  it('sends one batch for the history table, one per file and one for the stored procedures, each holding its transaction and the lock', async () => {
    const { pool, sent } = recordingPool(1);
    await applyMigrations(pool, { schema: 'spapi_test' });
    expect(sent).toHaveLength(1 + FILES.length + 1);
    for (const { text } of sent) {
      expect(text).toMatch(/SET XACT_ABORT ON;\s+(DECLARE @applied INT = 0;\s+)?BEGIN TRY\s+BEGIN TRANSACTION;\s+DECLARE @lockStatus INT;\s+EXEC @lockStatus = sys.sp_getapplock/);
      expect(text).toMatch(/COMMIT TRANSACTION;/);
    }
  });

  it('rolls back and rethrows a file that fails even to compile, so schema_migrations never records it', async () => {
    // XACT_ABORT does not end the batch on a compile error inside sp_executesql: only TRY/CATCH keeps the INSERT
    // into schema_migrations and the COMMIT from running after it.
    const { pool, sent } = recordingPool(1);
    await applyMigrations(pool, { schema: 'spapi_test' });
    for (const { text } of sent) {
      expect(text).toMatch(/BEGIN TRY\s+BEGIN TRANSACTION;[\s\S]*COMMIT TRANSACTION;\s+END TRY\s+BEGIN CATCH\s+IF XACT_STATE\(\) <> 0 ROLLBACK TRANSACTION;\s+THROW;\s+END CATCH;/);
    }
    for (const { text } of sent.slice(1, 1 + FILES.length)) {
      const tryBlock = text.slice(text.indexOf('BEGIN TRY'), text.indexOf('END TRY'));
      expect(tryBlock).toMatch(/EXEC sys.sp_executesql @migration;\s+INSERT INTO \[spapi_test\]\.\[schema_migrations\]/);
      expect(text.slice(text.indexOf('END CATCH;'))).toMatch(/^END CATCH;\s+SELECT @applied AS applied;$/);
    }
  });

  it("passes each file's rendered text as a parameter, with its version", async () => {
    const { pool, sent } = recordingPool(1);
    await applyMigrations(pool, { schema: 'spapi_test' });
    expect(sent.slice(1, 1 + FILES.length).map((s) => [s.inputs.get('version'), s.inputs.get('migration')])).toEqual(
      FILES.map((f) => [f.version, renderMigration(readFileSync(f.path, 'utf8'), 'spapi_test')]),
    );
  });

  it('creates each procedure of this code when missing, with its definition as a parameter, and records the set as one row', async () => {
    const { pool, sent } = recordingPool(1);
    await applyMigrations(pool, { schema: 'spapi_test' });
    const last = sent.at(-1);
    expect(last?.inputs.get('version')).toBe(PROCEDURES_VERSION);
    expect(OPERATIONS.map((operation, i) => last?.inputs.get(`p${i}`))).toEqual(OPERATIONS.map((operation) => procedureDefinition(operation, 'spapi_test')));
    for (const operation of OPERATIONS) expect(procedureDefinition(operation, 'spapi_test')).toMatch(new RegExp(`^CREATE PROCEDURE \\[spapi_test\\]\\.\\[${procedureName(operation)}\\]`));
  });

  it('returns the versions the batches say they applied, and none when every one was recorded already', async () => {
    expect(await applyMigrations(recordingPool(1).pool, { schema: 'spapi_test' })).toEqual([...FILES.map((f) => f.version), PROCEDURES_VERSION]);
    expect(await applyMigrations(recordingPool(0).pool, { schema: 'spapi_test' })).toEqual([]);
  });
});

describe('db:migrate sealing plain MWS tokens (sealMwsTokensStep)', () => {
  const KEYS = `k1:${Buffer.alloc(32, 7).toString('base64')}`;
  const PLAIN = 'amzn.mws.4ea38b7b-f563-7709-4bae-87aeaEXAMPLE';

  /** A SQLite store holding one row whose MWS token was stored plain, as code before 005 did. */
  async function storeWithPlainToken(): Promise<CredentialStore> {
    const store = await openSqliteStore(':memory:');
    const now = new Date('2025-03-01T10:00:00.000Z');
    await store.startAuthorization({
      stateHash: 'a'.repeat(64),
      browserBindingHash: 'b'.repeat(64),
      flow: 'website',
      expectedSellingPartnerId: null,
      customerId: 'cust-1',
      scope: 'NA',
      marketplace: 'US',
      createdAt: now,
      expiresAt: new Date(now.getTime() + 600_000),
    });
    await store.recordCallback({ customerId: 'cust-1', scope: 'NA', sellingPartnerId: 'AP1', encryptedMwsAuthToken: PLAIN, encryptedCode: 'v1:x', now });
    return store;
  }

  it('seals a plain MWS token with the first configured key', async () => {
    const store = await storeWithPlainToken();
    const lines: string[] = [];
    expect(await sealMwsTokensStep(store, KEYS, (line) => lines.push(line))).toBe(0);
    const sealed = (await store.findCredential('cust-1', 'NA'))?.mwsAuthToken ?? '';
    expect(sealed.startsWith('v1:k1:')).toBe(true);
    expect(lines.join('\n')).toContain('1 plain MWS tokens sealed with key "k1"');
    expect(lines.join('\n')).not.toContain(PLAIN);
    await store.close();
  });

  it('without keys leaves the token plain and says that tokens:reencrypt must run', async () => {
    const store = await storeWithPlainToken();
    const lines: string[] = [];
    expect(await sealMwsTokensStep(store, undefined, (line) => lines.push(line))).toBe(0);
    expect((await store.findCredential('cust-1', 'NA'))?.mwsAuthToken).toBe(PLAIN);
    expect(lines).toEqual([expect.stringMatching(/^db:migrate: 1 plain MWS tokens stored .*npm run tokens:reencrypt/)]);
    await store.close();
  });

  it('with keys that do not parse seals nothing and exits 1', async () => {
    const store = await storeWithPlainToken();
    const lines: string[] = [];
    expect(await sealMwsTokensStep(store, 'k1:short', (line) => lines.push(line))).toBe(1);
    expect((await store.findCredential('cust-1', 'NA'))?.mwsAuthToken).toBe(PLAIN);
    expect(lines.join('\n')).not.toContain('k1:short');
    await store.close();
  });
});
