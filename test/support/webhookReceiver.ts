import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

/** One POST the receiver got, with what the standardwebhooks verifier said of its signature. */
export interface ReceivedWebhook {
  id: string;
  timestamp: string;
  signature: string;
  userAgent: string;
  body: string;
  /** The parsed payload when Webhook.verify accepted it; null when it threw. */
  verified: unknown;
  answered: number;
}

export interface WebhookReceiver {
  url: string;
  secret: string;
  received: ReceivedWebhook[];
  /** Statuses to answer, in order; 204 once they are used up. */
  answer(...statuses: number[]): void;
  /** Resolves once `count` requests answered 2xx (polls; the test's own timeout bounds it). */
  deliveries(count: number): Promise<ReceivedWebhook[]>;
  close(): Promise<void>;
}

/** oxWebApp's end, on loopback: every request is checked with the `standardwebhooks` verifier. */
export async function startWebhookReceiver(secret: string): Promise<WebhookReceiver> {
  const verifier = new Webhook(secret);
  const received: ReceivedWebhook[] = [];
  const statuses: number[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const header = (name: string): string => {
        const value = req.headers[name];
        return typeof value === 'string' ? value : '';
      };
      const headers = { 'webhook-id': header('webhook-id'), 'webhook-timestamp': header('webhook-timestamp'), 'webhook-signature': header('webhook-signature') };
      let verified: unknown = null;
      try {
        verified = verifier.verify(body, headers);
      } catch {
        verified = null;
      }
      const status = verified === null ? 400 : (statuses.shift() ?? 204);
      received.push({ id: headers['webhook-id'], timestamp: headers['webhook-timestamp'], signature: headers['webhook-signature'], userAgent: header('user-agent'), body, verified, answered: status });
      res.writeHead(status);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/webhooks/spapi`,
    secret,
    received,
    answer: (...more) => statuses.push(...more),
    deliveries: async (count) => {
      for (;;) {
        const ok = received.filter((r) => r.answered >= 200 && r.answered < 300);
        if (ok.length >= count) return ok;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
