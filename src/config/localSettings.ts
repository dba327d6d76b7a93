import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import type { SettingValues } from './settings.js';

const localSettingsFile = z.object({ Values: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional() });

/**
 * Settings for local runs and CLIs: `Values` of ./local.settings.json (as Core Tools reads it), with environment
 * variables winning over the file. A malformed file is an error naming the file, not a silent fallback.
 */
export function readLocalSettingValues(cwd: string = process.cwd(), env: NodeJS.ProcessEnv = process.env): {
  values: SettingValues;
  file: string | undefined;
} {
  const path = resolve(cwd, 'local.settings.json');
  if (!existsSync(path)) return { values: { ...env }, file: undefined };
  let parsed: z.infer<typeof localSettingsFile>;
  try {
    parsed = localSettingsFile.parse(JSON.parse(readFileSync(path, 'utf8')));
  } catch {
    // Not the parser's message: it quotes the file, which holds secrets.
    throw new Error(`local.settings.json is not valid: expected JSON of the form { "Values": { "NAME": "value" } }.`);
  }
  const fileValues = Object.fromEntries(Object.entries(parsed.Values ?? {}).map(([k, v]) => [k, String(v)]));
  // An environment variable wins, but an empty one does not hide the file's value.
  const setInEnv = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v.trim() !== ''));
  return { values: { ...fileValues, ...setInEnv }, file: path };
}
