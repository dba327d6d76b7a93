import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll } from 'vitest';
import { openSqliteStore } from '../../src/store/openStore.js';
import { describeStoreContract } from './credentialStore.contract.js';

/**
 * The contract against SqliteStore: a fresh database file per test, in the OS temp folder, removed afterwards. Each
 * starts as a copy of one empty file this code migrated (opened and closed once), so the tests open a store at the
 * current schema without running every schema step again; the steps themselves are sqliteMigration.test.ts's.
 */
const dir = await mkdtemp(join(tmpdir(), 'spapi-contract-'));
const template = join(dir, 'migrated.sqlite');
// Closing the only connection checkpoints the WAL into the file and removes -wal and -shm: the file is complete.
await (await openSqliteStore(template)).close();
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describeStoreContract('SqliteStore', async () => {
  const path = join(dir, `${randomUUID()}.sqlite`);
  await copyFile(template, path);
  const store = await openSqliteStore(path);
  return {
    store,
    cleanup: async () => {
      await store.close();
      await Promise.all(['', '-wal', '-shm'].map((suffix) => rm(`${path}${suffix}`, { force: true })));
    },
  };
});
