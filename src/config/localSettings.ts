import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import type { SettingValues } from './settingReader.js';
import { parseJsonText } from './jsonText.js';

const localSettingsFile = z.object({ Values: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional() });

/**
 * A local file the commands read is broken: the message names the file, says where, and how to fix it; it never
 * quotes the file (it holds secrets). Every command prints it as one line, without a stack trace.
 */
export class LocalFileError extends Error {
  override readonly name = 'LocalFileError';
}

/**
 * Settings for local runs and CLIs: `Values` of ./local.settings.json (as Core Tools reads it), with environment
 * variables winning over the file. A malformed file is a {@link LocalFileError} naming the file and the line and
 * column, not a silent fallback. `fromFile` lists the names whose value came from the file (for messages).
 */
export function readLocalSettingValues(cwd: string = process.cwd(), env: NodeJS.ProcessEnv = process.env): {
  values: SettingValues;
  file: string | undefined;
  fromFile: ReadonlySet<string>;
} {
  const path = resolve(cwd, 'local.settings.json');
  if (!existsSync(path)) return { values: { ...env }, file: undefined, fromFile: new Set() };
  const json = parseJsonText(readFileSync(path, 'utf8'));
  if (!json.ok) throw new LocalFileError(`local.settings.json is not valid JSON (${json.problem}): fix it, or remove the file to use the sandbox.`);
  const parsed = localSettingsFile.safeParse(json.value);
  if (!parsed.success) {
    throw new LocalFileError('local.settings.json is not of the form { "Values": { "NAME": "value" } }: fix it, or remove the file to use the sandbox.');
  }
  const fileValues = Object.fromEntries(Object.entries(parsed.data.Values ?? {}).map(([k, v]) => [k, String(v)]));
  // An environment variable wins, but an empty one does not hide the file's value.
  const setInEnv = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v.trim() !== ''));
  const fromFile = new Set(Object.entries(fileValues).filter(([k, v]) => v.trim() !== '' && !(k in setInEnv)).map(([k]) => k));
  return { values: { ...fileValues, ...setInEnv }, file: path, fromFile };
}

export const DEFAULT_PORT = 7071;

/** PORT of the local host: unset → 7071; else a whole number 1–65535, or one line naming PORT. */
export function readPort(env: NodeJS.ProcessEnv): { ok: true; port: number } | { ok: false; problem: string } {
  const raw = env['PORT']?.trim();
  if (raw === undefined || raw === '') return { ok: true, port: DEFAULT_PORT };
  const port = /^\d{1,5}$/.test(raw) ? Number(raw) : NaN;
  // 0 asks the system for a free port (the fleet test's processes); prepareLocalRun refuses it in sandbox mode.
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    return { ok: false, problem: `PORT must be a whole number from 1 to 65535 (the local host's port; unset, it is ${DEFAULT_PORT}).` };
  }
  return { ok: true, port };
}
