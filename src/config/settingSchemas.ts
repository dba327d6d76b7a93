import { z } from 'zod';
import { parseKeyRing } from '../crypto/tokenCipher.js';

// The schemas settings are read with; each message follows the setting's name ("LWA_TIMEOUT_MS must be…").

export const required = z.string({ error: 'is required.' });
/** A date (2027-05-20) or date-time (2027-05-20T00:00:00Z); a bare date means midnight UTC. */
export const dateSchema = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2}))?$/, 'must be a date like 2027-05-20 (UTC) or an ISO-8601 date-time.')
  .transform((v) => new Date(v.length === 10 ? `${v}T00:00:00Z` : v))
  .refine((d) => !Number.isNaN(d.getTime()), 'must be a real date.');
export const noSpaces = z.string().regex(/^\S+$/, 'must not contain spaces.');
export const booleanSchema = z
  .enum(['true', 'false', 'TRUE', 'FALSE', 'True', 'False'], { error: 'must be "true" or "false".' })
  .default('false')
  .transform((v) => v.toLowerCase() === 'true');

export const keyRingSchema = required.transform((raw, ctx) => {
  const ring = parseKeyRing(raw);
  if (ring.ok) return ring.keys;
  ctx.addIssue({ code: 'custom', message: ring.problem });
  return z.NEVER;
});

export const withoutTrailingSlashes = (url: string): string => url.replace(/\/+$/, '');

export function integerSchema(min: number, max: number, fallback: number): z.ZodType<number> {
  return z
    .string()
    .regex(/^\d+$/, `must be a whole number from ${min} to ${max}.`)
    .default(String(fallback))
    .transform(Number)
    .pipe(z.number().min(min, `must be at least ${min}.`).max(max, `must be at most ${max}.`));
}

/** https everywhere; plain http only for localhost/127.0.0.1 and only outside Azure (local runs, sandbox, tests). */
export function urlSchema(environment: { inAzure: boolean }): z.ZodType<string, string> {
  return z.string().superRefine((value, ctx) => {
    let parsed: URL;
    try {
      parsed = new URL(value);
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be an absolute URL.' });
      return;
    }
    const localHttp = parsed.protocol === 'http:' && isLoopbackHost(parsed.hostname);
    if (parsed.protocol !== 'https:' && !(localHttp && !environment.inAzure)) {
      ctx.addIssue({
        code: 'custom',
        message: environment.inAzure ? 'must be an https URL.' : 'must be an https URL (or http://localhost… for local runs).',
      });
    } else if (parsed.hash !== '' || parsed.username !== '' || parsed.password !== '') {
      ctx.addIssue({ code: 'custom', message: 'must not contain a fragment or credentials.' });
    }
  });
}

export function isLoopbackHost(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '127.0.0.1' || hostname === '[::1]';
}
