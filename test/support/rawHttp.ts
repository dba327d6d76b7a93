import { connect } from 'node:net';

/**
 * HTTP/1.1 as bytes over a loopback socket, for requests a client library would never send (a malformed or absent
 * Host, an absolute-form target, a bad escape in the path, repeated headers) and for telling a complete answer from
 * a dropped connection.
 */
export interface RawAnswer {
  /** 0 when no status line came back (a dropped connection). */
  status: number;
  /** Lower-case names; repeated headers joined with ', '. */
  headers: Record<string, string>;
  body: string;
  /** True when the whole answer arrived: its Content-Length (or chunked terminator) was honoured. */
  complete: boolean;
  /** The socket error, if the connection failed or was reset. */
  error?: string;
}

/** A request line plus headers (CRLF added) and an optional body. */
export function rawRequest(port: number, head: string, body: Buffer | string = '', timeoutMs = 10_000): Promise<RawAnswer> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let error: string | undefined;
    let settled = false;
    const finish = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ ...parse(Buffer.concat(chunks), headersOnly), ...(error === undefined ? {} : { error }) });
    };
    const timer = setTimeout(() => {
      error ??= 'timeout';
      finish();
    }, timeoutMs);
    // The answer to HEAD is headers only, whatever Content-Length says.
    const headersOnly = head.startsWith('HEAD ');
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      // A keep-alive answer ends when its body is complete, not when the socket closes.
      if (parse(Buffer.concat(chunks), headersOnly).complete) finish();
    });
    socket.on('error', (e: Error & { code?: string }) => {
      error = e.code ?? e.message;
    });
    socket.on('close', finish);
    socket.write(`${head}\r\n\r\n`);
    if (body.length > 0) socket.write(body);
  });
}

function parse(all: Buffer, headersOnly: boolean): Omit<RawAnswer, 'error'> {
  let bytes = all;
  let end = bytes.indexOf('\r\n\r\n');
  // An interim answer (100 Continue) precedes the real one: skipped.
  while (end !== -1 && /^HTTP\/1\.[01] 1\d\d/.test(bytes.subarray(0, 12).toString('latin1'))) {
    bytes = bytes.subarray(end + 4);
    end = bytes.indexOf('\r\n\r\n');
  }
  if (end === -1) return { status: 0, headers: {}, body: '', complete: false };
  const lines = bytes.subarray(0, end).toString('latin1').split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '')?.[1] ?? 0);
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  const rest = bytes.subarray(end + 4);
  if (headersOnly) return { status, headers, body: '', complete: true };
  const length = headers['content-length'];
  if (length !== undefined) {
    const complete = rest.length >= Number(length);
    return { status, headers, body: rest.subarray(0, Number(length)).toString('utf8'), complete };
  }
  if (/chunked/i.test(headers['transfer-encoding'] ?? '')) {
    const complete = rest.includes('0\r\n\r\n');
    return { status, headers, body: dechunk(rest), complete };
  }
  return { status, headers, body: rest.toString('utf8'), complete: status === 304 || status === 204 };
}

function dechunk(bytes: Buffer): string {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const lineEnd = bytes.indexOf('\r\n', at);
    if (lineEnd === -1) break;
    const size = parseInt(bytes.subarray(at, lineEnd).toString('latin1'), 16);
    if (!Number.isFinite(size) || size === 0) break;
    parts.push(bytes.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
  return Buffer.concat(parts).toString('utf8');
}
