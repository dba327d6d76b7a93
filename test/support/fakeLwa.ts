import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Clock } from '../../src/credentials/index.js';
import { SandboxLwa } from '../../src/sandbox/sandboxLwa.js';

/**
 * A loopback LWA for tests: the sandbox's token endpoint behind a real HTTP server, with scripted faults in front
 * of it (a status and raw body, or a hang) and a record of every token it handed out, for the secret scan.
 */
export type Fault =
  | { status: number; body: string; headers?: Record<string, string> }
  | { hang: true }
  /** Answer as the sandbox would, but only after `delayMs` (a slow success). */
  | { delayMs: number }
  /** Answer as the sandbox would once `heldUntil` settles: a slow success that ends when the test says, not on a timer. */
  | { heldUntil: Promise<unknown> };

export interface FakeLwa {
  url: string;
  sandbox: SandboxLwa;
  /** Token requests that reached the server, faults included. */
  received: URLSearchParams[];
  /** Every access and refresh token returned. */
  issuedTokens: string[];
  fail(...faults: Fault[]): void;
  /** Faults queued but not yet served: a test that leaves some behind scripted more than happened. */
  pendingFaults(): number;
  close(): Promise<void>;
}

export async function startFakeLwa(options: {
  clientId: string;
  clientSecret: string;
  clock: Clock;
  /** expires_in of the access tokens it issues, instead of the sandbox's 3600 (the fleet bench shortens lifetimes). */
  accessTokenLifetimeSeconds?: number;
}): Promise<FakeLwa> {
  const sandbox = new SandboxLwa(options);
  const faults: Fault[] = [];
  const received: URLSearchParams[] = [];
  const issuedTokens: string[] = [];
  const hanging = new Set<ServerResponse>();

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
      received.push(form);
      const fault = faults.shift();
      if (fault !== undefined && 'hang' in fault) {
        hanging.add(res);
        return;
      }
      if (fault !== undefined && 'heldUntil' in fault) {
        // As with delayMs: LWA acts on the request even if the client has given up waiting.
        void fault.heldUntil.then(
          () => answer(form, res),
          () => answer(form, res),
        );
        return;
      }
      if (fault !== undefined && 'delayMs' in fault) {
        // LWA acts on the request even if the client has given up waiting: the code is spent either way.
        setTimeout(() => answer(form, res), fault.delayMs);
        return;
      }
      if (fault !== undefined) {
        res.writeHead(fault.status, { 'Content-Type': 'application/json', ...fault.headers });
        res.end(fault.body);
        return;
      }
      answer(form, res);
    });
  });

  function answer(form: URLSearchParams, res: ServerResponse): void {
    const reply = sandbox.handleTokenRequest(form);
    if (options.accessTokenLifetimeSeconds !== undefined && typeof reply.body['access_token'] === 'string') {
      reply.body['expires_in'] = options.accessTokenLifetimeSeconds;
    }
    for (const key of ['access_token', 'refresh_token'] as const) {
      const token = reply.body[key];
      if (typeof token === 'string') issuedTokens.push(token);
    }
    if (res.destroyed) return;
    res.writeHead(reply.status, { 'Content-Type': 'application/json;charset=UTF-8' });
    res.end(JSON.stringify(reply.body));
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/auth/o2/token`,
    sandbox,
    received,
    issuedTokens,
    fail: (...more) => faults.push(...more),
    pendingFaults: () => faults.length,
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of hanging) res.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
