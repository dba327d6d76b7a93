import { AsyncLocalStorage } from 'node:async_hooks';
import type { LogFields, Logger } from '../credentials/index.js';

export type LogLevel = 'info' | 'warn' | 'error';

/** Info to stdout, warnings and errors to stderr: where a process supervisor (or the Functions host) expects them. */
const standardStreams = (line: string, level: LogLevel): void => {
  (level === 'info' ? process.stdout : process.stderr).write(`${line}\n`);
};

/**
 * One JSON line per event, `{"time","level","message",...fields}`. By default info goes to stdout and warn/error to
 * stderr (the local host, CLIs, and lines outside any invocation in Azure); tests pass `write` to capture lines.
 */
export function consoleLogger(write: (line: string, level: LogLevel) => void = standardStreams): Logger {
  const emit = (level: LogLevel) => (message: string, fields?: LogFields) =>
    write(JSON.stringify({ time: new Date().toISOString(), level, message, ...fields }), level);
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

/**
 * The logger of the invocation whose async work is running now. Shared services (the LWA client, the access-token
 * service) are built once per process with one logger, yet under the Functions host only lines written through an
 * InvocationContext are recorded at their level with the invocation id; the worker's stdout becomes anonymous
 * Information traces. So the process-wide logger asks this store which invocation it is logging for.
 */
const currentInvocation = new AsyncLocalStorage<Logger>();

/** Runs `work` (and every async continuation it starts) with `logger` as the current invocation's logger. */
export function withInvocationLogger<T>(logger: Logger, work: () => Promise<T>): Promise<T> {
  return currentInvocation.run(logger, work);
}

/**
 * Runs `work` outside any invocation: for background work an invocation starts but must not log into (the host
 * rejects lines written to a context after its invocation completed), such as the event delivery a change nudges.
 */
export function outsideInvocation<T>(work: () => T): T {
  return currentInvocation.exit(work);
}

/**
 * A logger that writes each line through the current invocation's logger (see {@link withInvocationLogger}) and,
 * outside any invocation (start-up, timers), through `outside`. Work shared by concurrent invocations, such as one
 * single-flight LWA refresh, logs to the invocation that started it.
 */
export function invocationAwareLogger(outside: Logger): Logger {
  const route = (level: LogLevel) => (message: string, fields?: LogFields) => (currentInvocation.getStore() ?? outside)[level](message, fields);
  return { info: route('info'), warn: route('warn'), error: route('error') };
}
