/** What every part takes from outside: time, randomness, log lines. Small enough for tests to replace with a real local one. */

export interface Clock {
  now(): Date;
}

export interface RandomSource {
  bytes(length: number): Buffer;
}

/** Structured log lines. Fields must never carry secrets: callers pass ids, reasons and counts only. */
export interface Logger {
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

export type LogFields = Record<string, string | number | boolean | null | undefined>;

export const systemClock: Clock = { now: () => new Date() };

/** The real pause; code that waits takes it as an option so tests can count or skip the waits. */
export const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Error text for logs: the driver's message and code, never a stack or a request payload. */
export function describeError(error: unknown): string {
  if (error instanceof Error) {
    const code = 'code' in error && (typeof error.code === 'string' || typeof error.code === 'number') ? ` [${error.code}]` : '';
    return `${error.name}: ${error.message}${code}`.slice(0, 500);
  }
  return 'unknown error';
}
