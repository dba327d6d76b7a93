import { lookup } from 'node:dns';
import net from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { connectWithoutNagle, withoutNagle } from '../../src/store/mssql/noDelay.js';
import { poolConfig } from '../../src/store/mssql/pool.js';

/** The SQL Server sockets' Nagle setting, on a real loopback socket (no SQL Server needed). */
describe("the SQL Server pool's connections", () => {
  let server: net.Server | undefined;
  afterEach(() => new Promise<void>((done) => (server === undefined ? done() : server.close(() => done()))));

  async function listening(): Promise<number> {
    server = net.createServer((socket) => socket.on('error', () => undefined).end());
    await new Promise<void>((done) => server?.listen(0, '127.0.0.1', done));
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    return address.port;
  }

  it('connect with Nagle\'s algorithm off, trying the addresses of the name in turn', async () => {
    const port = await listening();
    const setNoDelay = vi.spyOn(net.Socket.prototype, 'setNoDelay');
    const socket = await connectWithoutNagle({ host: 'localhost', port }, lookup, new AbortController().signal);
    try {
      expect(socket.remoteAddress).toMatch(/^(127\.0\.0\.1|::1)$/);
      expect(setNoDelay.mock.contexts).toEqual([socket]);
      expect(setNoDelay.mock.calls).toEqual([[true]]);
    } finally {
      setNoDelay.mockRestore();
      socket.destroy();
    }
  });

  it('reject with every address tried when none answers, and at once when aborted', async () => {
    const port = await listening();
    await new Promise<void>((done) => server?.close(() => done()));
    server = undefined;
    await expect(connectWithoutNagle({ host: '127.0.0.1', port }, lookup, new AbortController().signal)).rejects.toThrow(/Could not connect/);
    const aborted = new AbortController();
    aborted.abort(new Error('stop'));
    await expect(connectWithoutNagle({ host: '127.0.0.1', port }, lookup, aborted.signal)).rejects.toThrow('stop');
  });

  it('are made by that connector for both kinds of settings (tedious options.connector, passed through by mssql)', () => {
    for (const settings of [
      { kind: 'mssql' as const, connectionString: 'Server=db.example,1433;Database=d;User Id=u;Password=p' },
      { kind: 'mssql-managed-identity' as const, server: 'db.example', database: 'd', clientId: undefined },
    ]) {
      expect(withoutNagle(poolConfig(settings)).options?.connector).toBe(connectWithoutNagle);
    }
  });
});
