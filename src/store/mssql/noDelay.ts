import type { LookupAddress, LookupAllOptions } from 'node:dns';
import { connect, type Socket } from 'node:net';
import type sql from 'mssql';

type Lookup = (hostname: string, options: LookupAllOptions, callback: (error: Error | null, addresses: LookupAddress[]) => void) => void;

/**
 * tedious's connection, with Nagle's algorithm off. A request and its answer are one exchange each way; with Nagle
 * on (tedious leaves the socket's default), the tail of a request longer than one segment waits for the server's
 * delayed ACK, about 40 ms on Linux and 200 ms on Windows (measured: every write to Babelfish over loopback waited
 * ~44 ms). The addresses are tried in turn, as tedious's own connector does; it calls this with the host and port of
 * the server, or of the node an Azure SQL gateway redirected it to.
 */
export async function connectWithoutNagle(
  options: { host: string; port: number; localAddress?: string | undefined },
  lookup: Lookup,
  signal: AbortSignal,
): Promise<Socket> {
  signal.throwIfAborted();
  const addresses = await new Promise<LookupAddress[]>((resolve, reject) =>
    lookup(options.host, { all: true }, (error, found) => (error === null ? resolve(found) : reject(error))),
  );
  const errors: unknown[] = [];
  for (const address of addresses) {
    try {
      return await new Promise<Socket>((resolve, reject) => {
        const socket = connect({ host: address.address, family: address.family, port: options.port, localAddress: options.localAddress });
        const onAbort = (): void => {
          socket.destroy();
          reject(signal.reason);
        };
        signal.addEventListener('abort', onAbort, { once: true });
        socket.once('connect', () => {
          signal.removeEventListener('abort', onAbort);
          socket.removeAllListeners('error');
          socket.setNoDelay(true);
          resolve(socket);
        });
        socket.once('error', (error) => {
          signal.removeEventListener('abort', onAbort);
          socket.destroy();
          reject(error);
        });
      });
    } catch (error) {
      signal.throwIfAborted();
      errors.push(error);
    }
  }
  throw new AggregateError(errors, 'Could not connect (sequence)');
}

/** A pool config whose connections use connectWithoutNagle (tedious's `options.connector`, passed through by mssql). */
export function withoutNagle(config: sql.config): sql.config {
  return { ...config, options: { ...config.options, connector: connectWithoutNagle } as sql.config['options'] };
}
