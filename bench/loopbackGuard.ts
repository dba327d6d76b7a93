import net from 'node:net';

/**
 * The loopback guard both benchmark scripts install before they open any connection. Every TCP/TLS client socket in
 * Node (http, https, undici, tls) connects through net.Socket.prototype.connect, before any DNS lookup. Anything that
 * is not 127.0.0.1 / localhost / ::1 (or a Unix socket path) is refused there, so a mistake in a script cannot reach
 * the network; refusals are kept in `refusedConnections` and fail the run.
 */
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '::1']);

/** Hosts the guard refused, in order. */
export const refusedConnections: string[] = [];

export function installLoopbackGuard(): void {
  const original = net.Socket.prototype.connect;
  const guarded = function (this: net.Socket, ...args: unknown[]): net.Socket {
    const first = Array.isArray(args[0]) ? (args[0] as unknown[])[0] : args[0];
    let host: string | undefined;
    let path: string | undefined;
    if (typeof first === 'object' && first !== null) {
      const options = first as { host?: unknown; path?: unknown };
      path = typeof options.path === 'string' ? options.path : undefined;
      host = typeof options.host === 'string' ? options.host : 'localhost';
    } else if (typeof first === 'string' && !/^\d+$/.test(first)) {
      path = first; // a Unix socket / named pipe
    } else {
      host = typeof args[1] === 'string' ? args[1] : 'localhost';
    }
    if (path === undefined && (host === undefined || !LOOPBACK_HOSTS.has(host))) {
      refusedConnections.push(String(host));
      throw new Error(`loopback guard: refused a connection to ${String(host)}`);
    }
    return (original as (...a: unknown[]) => net.Socket).apply(this, args);
  };
  net.Socket.prototype.connect = guarded as typeof net.Socket.prototype.connect;
}

/** The guard must refuse an address outside its list; 127.0.0.2 is used because, were the guard broken, it is still loopback. */
export function selfTestLoopbackGuard(): void {
  let socket: net.Socket | undefined;
  try {
    socket = net.connect({ host: '127.0.0.2', port: 9 });
  } catch {
    refusedConnections.pop();
    return;
  } finally {
    socket?.on('error', () => undefined).destroy();
  }
  throw new Error('loopback guard self-test failed: a connection to 127.0.0.2 was not refused');
}
