import { join } from 'node:path';
import type { SettingValues } from '../config/settingReader.js';
import { LocalFileError, readLocalSettingValues, readPort } from '../config/localSettings.js';
import { sandboxEnvironment, sandboxSwitches, type SandboxEnvironment } from '../sandbox/sandboxSettings.js';

/**
 * What every local command (start, ops, launch-link, tokens:reencrypt, db:migrate) reads before it does anything:
 * PORT, local.settings.json over the environment, and in sandbox mode the sandbox's generated settings. A broken
 * file or PORT comes back as one line each, never as an exception with a stack trace.
 */
export interface LocalRun {
  /** The settings the app reads: configured values, over the sandbox's generated ones in sandbox mode. */
  values: SettingValues;
  port: number;
  /** http://localhost:<port> */
  origin: string;
  sandbox: SandboxEnvironment | undefined;
  /** local.settings.json when it was read. */
  file: string | undefined;
  /** Names whose value came from local.settings.json (the environment wins over it). */
  fromFile: ReadonlySet<string>;
}

export type LocalRunResult = { ok: true; run: LocalRun } | { ok: false; problems: string[] };

export interface LocalRunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** The origin the sandbox plays Amazon on; default http://localhost:<PORT>. */
  origin?: string;
}

export function prepareLocalRun(options: LocalRunOptions = {}): LocalRunResult {
  const cwd = options.cwd ?? process.cwd();
  const env = options.env ?? process.env;
  const port = readPort(env);
  // Checked first: a bad PORT would otherwise surface as errors about every URL the sandbox builds from it.
  if (!port.ok) return { ok: false, problems: [port.problem] };
  const origin = options.origin ?? `http://localhost:${port.port}`;
  try {
    const local = readLocalSettingValues(cwd, env);
    const sandboxMode = sandboxSwitches(local.values).length === 0;
    // The sandbox plays Amazon at an address it must know before it listens (its redirect and Login URIs).
    if (sandboxMode && port.port === 0) return { ok: false, problems: ['PORT=0 (any free port) works only with real settings: the sandbox needs a fixed PORT from 1 to 65535.'] };
    const sandbox = sandboxMode ? sandboxEnvironment(local.values, origin, join(cwd, '.data', 'sandbox-secrets.json')) : undefined;
    return {
      ok: true,
      run: { values: sandbox?.values ?? local.values, port: port.port, origin, sandbox, file: local.file, fromFile: local.fromFile },
    };
  } catch (error) {
    if (error instanceof LocalFileError) return { ok: false, problems: [error.message] };
    throw error;
  }
}

/**
 * One line saying why sandbox mode is off, naming the settings that switched it off and where they came from, and
 * which settings that makes required (from the settings' own "is required" problems). Undefined in sandbox mode.
 */
export function sandboxOffLine(run: LocalRun, problems: readonly string[]): string | undefined {
  if (run.sandbox !== undefined) return undefined;
  const switches = sandboxSwitches(run.values);
  const set = (names: string[], where: string) =>
    names.length === 0 ? [] : [`${names.join(' and ')} ${names.length === 1 ? 'is' : 'are'} set in ${where}`];
  const sources = [
    ...set(switches.filter((n) => run.fromFile.has(n)), 'local.settings.json'),
    ...set(switches.filter((n) => !run.fromFile.has(n)), 'the environment'),
  ];
  const required = problems.filter((p) => / is required\b/.test(p)).map((p) => p.split(' ')[0]);
  const why = `${sources.join(' and ')}, so sandbox mode is off`;
  if (required.length > 0) return `${why}; these are then required: ${required.join(', ')}. (Remove ${switches.join(' and ')} to use the sandbox.)`;
  return problems.length > 0 ? `${why}; fix the settings below, or remove ${switches.join(' and ')} to use the sandbox.` : `${why}.`;
}
