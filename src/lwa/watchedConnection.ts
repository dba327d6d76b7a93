import { Agent as HttpAgent, type ClientRequestArgs } from 'node:http';
import { Agent as HttpsAgent, type RequestOptions as HttpsRequestOptions } from 'node:https';
import type { Duplex } from 'node:stream';
import { TLSSocket } from 'node:tls';
import type { AxiosRequestConfig } from 'axios';

/**
 * A fresh connection for one request, watched from its creation: `neverConnected()` is true only when our agent
 * opened a socket and it never became usable (TCP connected; for https, the TLS handshake finished). Before that
 * point not one byte of the request has left this process: Node holds writes until the socket connects, and TLS
 * carries no application data before the handshake completes (Node sends no 0-RTT data). So connection refused, a
 * DNS failure, a TLS failure, even a connect-phase timeout, certainly did not reach LWA. From that point on, the
 * request may have been delivered, whatever the error code says (ECONNRESET, for one, comes both ways), so it
 * counts as sent. Error codes alone cannot draw this line; the socket's own events can. If our agent is not used
 * at all (a proxy agent from the environment, an error before any socket), nothing is known and it counts as sent.
 * No keep-alive: a pooled socket may have been closed by the server, and a reused one is always "connected".
 */
export function watchedConnection(tokenUrl: string): { agents: Pick<AxiosRequestConfig, 'httpAgent' | 'httpsAgent'>; neverConnected(): boolean; close(): void } {
  let opened = false;
  let connected = false;
  const watch = (socket: Duplex | null | undefined, ready: 'connect' | 'secureConnect'): void => {
    if (socket === null || socket === undefined) return;
    opened = true;
    socket.once(ready, () => {
      connected = true;
    });
  };
  let agent: HttpAgent;
  if (new URL(tokenUrl).protocol === 'https:') {
    agent = new (class extends HttpsAgent {
      override createConnection(options: HttpsRequestOptions, callback?: (err: Error | null, stream: Duplex) => void): Duplex | null | undefined {
        const socket = super.createConnection(options, callback);
        watch(socket, socket instanceof TLSSocket ? 'secureConnect' : 'connect');
        return socket;
      }
    })({ keepAlive: false, maxSockets: 1 });
  } else {
    agent = new (class extends HttpAgent {
      override createConnection(options: ClientRequestArgs, callback?: (err: Error | null, stream: Duplex) => void): Duplex | null | undefined {
        const socket = super.createConnection(options, callback);
        watch(socket, 'connect');
        return socket;
      }
    })({ keepAlive: false, maxSockets: 1 });
  }
  return {
    agents: agent instanceof HttpsAgent ? { httpsAgent: agent } : { httpAgent: agent },
    neverConnected: () => opened && !connected,
    close: () => agent.destroy(),
  };
}
