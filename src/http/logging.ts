import type { LogFields, Logger } from '../authorization/ports.js';

/** One JSON line per event on stdout/stderr (the local host, CLIs, and the app-wide logger in Azure). */
export function consoleLogger(write: (line: string) => void = (line) => process.stdout.write(`${line}\n`)): Logger {
  const emit = (level: string) => (message: string, fields?: LogFields) =>
    write(JSON.stringify({ time: new Date().toISOString(), level, message, ...fields }));
  return { info: emit('info'), warn: emit('warn'), error: emit('error') };
}

/** Routes log lines through Azure's InvocationContext so they carry the invocation id in Application Insights. */
export function invocationLogger(context: {
  log(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  error(...args: unknown[]): void;
}): Logger {
  const line = (message: string, fields?: LogFields) => (fields === undefined ? message : `${message} ${JSON.stringify(fields)}`);
  return {
    info: (message, fields) => context.log(line(message, fields)),
    warn: (message, fields) => context.warn(line(message, fields)),
    error: (message, fields) => context.error(line(message, fields)),
  };
}
