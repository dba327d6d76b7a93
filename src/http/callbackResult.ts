import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { CREDENTIAL_SCOPES } from '../credentials/index.js';
import { FAILURE_REASONS, REFUSAL_REASONS, type CallbackOutcome } from '../authorization/outcomes.js';

/**
 * Post/redirect/get for LWACallback: the callback's answer is a 303 to `<callback path>?result=<id>`, where the id
 * is the outcome sealed with AES-256-GCM (key derived from LAUNCH_LINK_SECRET), so neither `state` nor
 * `spapi_oauth_code` stays in the address bar or the history, and the result page needs no store read. The id is
 * opaque (no customer or seller id readable in history), tamper-proof, and expires after {@link RESULT_LIFETIME_SECONDS}.
 * It is also bound to the browser that made the callback (the state's binding cookie, sealed as a hash): opened
 * elsewhere (a shared machine's history, a pasted link) it shows the neutral `already_used` page, as the callback
 * itself would, never the outcome.
 */
export const RESULT_PARAMETER = 'result';
/** Long enough to reload the result page, short enough that a history entry soon shows nothing. */
export const RESULT_LIFETIME_SECONDS = 3600;

const KEY_LABEL = 'sp-api-seller-auth:callback-result:v1';

function resultKey(secret: string): Buffer {
  return createHmac('sha256', secret).update(KEY_LABEL).digest();
}

/** The cookie the callback request carried that binds its state to the browser: its name and value. */
export interface ResultBinding {
  name: string;
  value: string;
}

function bindingHash(binding: ResultBinding): string {
  return createHash('sha256').update(`${binding.name}=${binding.value}`, 'utf8').digest('base64url');
}

/** `iv.ciphertext.tag`, base64url: about 200 characters (250 with a binding). */
export function sealResult(outcome: CallbackOutcome, secret: string, nowMs: number, binding?: ResultBinding): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', resultKey(secret), iv);
  cipher.setAAD(Buffer.from(KEY_LABEL));
  const plain = JSON.stringify({ o: outcome, e: Math.floor(nowMs / 1000) + RESULT_LIFETIME_SECONDS, b: binding === undefined ? undefined : { n: binding.name, h: bindingHash(binding) } });
  const sealed = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
  return [iv, sealed, cipher.getAuthTag()].map((b) => b.toString('base64url')).join('.');
}

const optionalText = z.string().optional();
const scope = z.enum(CREDENTIAL_SCOPES);
// JSON drops keys whose value is undefined; each variant puts them back so the outcome has its full shape.
const outcomeSchema: z.ZodType<CallbackOutcome, unknown> = z.union([
  z.object({ kind: z.literal('authorized'), customerId: z.string(), scope, marketplace: z.string(), sellingPartnerId: z.string() }),
  z
    .object({ kind: z.literal('refused'), reason: z.enum(REFUSAL_REASONS), marketplace: optionalText })
    .transform((o): CallbackOutcome => ({ kind: o.kind, reason: o.reason, marketplace: o.marketplace })),
  z
    .object({
      kind: z.literal('failed'),
      reason: z.enum(FAILURE_REASONS),
      marketplace: optionalText,
      lwaError: optionalText,
      partners: z.object({ linked: z.string(), returned: z.string(), scope }).optional(),
    })
    .transform((o): CallbackOutcome => ({ kind: o.kind, reason: o.reason, marketplace: o.marketplace, lwaError: o.lwaError, partners: o.partners })),
  z
    .object({ kind: z.enum(['in_progress', 'interrupted', 'already_used']), marketplace: optionalText })
    .transform((o): CallbackOutcome => ({ kind: o.kind, marketplace: o.marketplace })),
]);
const payloadSchema = z.object({ o: outcomeSchema, e: z.number().int(), b: z.object({ n: z.string(), h: z.string() }).optional() });

/**
 * The outcome an id sealed, or why there is none: not one of ours (or changed), or older than its lifetime. With
 * `cookies` (the result request's), an id sealed with a binding the request does not carry opens as `already_used`.
 */
export function openResult(
  id: string,
  secret: string,
  nowMs: number,
  cookies: (name: string) => string | undefined = () => undefined,
): { ok: true; outcome: CallbackOutcome } | { ok: false; why: 'invalid' | 'expired' } {
  const parts = id.split('.');
  if (parts.length !== 3 || id.length > 16_384 || parts.some((p) => !/^[A-Za-z0-9_-]+$/.test(p))) return { ok: false, why: 'invalid' };
  const [iv, sealed, tag] = parts.map((p) => Buffer.from(p, 'base64url'));
  if (iv === undefined || sealed === undefined || tag === undefined || iv.length !== 12 || tag.length !== 16) return { ok: false, why: 'invalid' };
  let plain: string;
  try {
    const decipher = createDecipheriv('aes-256-gcm', resultKey(secret), iv);
    decipher.setAAD(Buffer.from(KEY_LABEL));
    decipher.setAuthTag(tag);
    plain = Buffer.concat([decipher.update(sealed), decipher.final()]).toString('utf8');
  } catch {
    return { ok: false, why: 'invalid' };
  }
  let json: unknown;
  try {
    json = JSON.parse(plain);
  } catch {
    return { ok: false, why: 'invalid' };
  }
  const parsed = payloadSchema.safeParse(json);
  if (!parsed.success) return { ok: false, why: 'invalid' };
  if (parsed.data.e * 1000 <= nowMs) return { ok: false, why: 'expired' };
  const { o: outcome, b: bound } = parsed.data;
  if (bound !== undefined) {
    const value = cookies(bound.n);
    const given = Buffer.from(value === undefined ? '' : bindingHash({ name: bound.n, value }));
    const expected = Buffer.from(bound.h);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: true, outcome: { kind: 'already_used', marketplace: outcome.marketplace } };
  }
  return { ok: true, outcome };
}
