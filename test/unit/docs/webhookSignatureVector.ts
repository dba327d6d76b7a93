import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * A fixed Standard Webhooks vector quoted in docs/oxwebapp.md (section "Verifying the signature"), and a line-for-line
 * TypeScript port of that page's C# verifier. The signature was computed once with the `standardwebhooks` package
 * and is hard-coded, so a change in the signing cannot silently move it.
 */
export const WEBHOOK_VECTOR = {
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  id: 'evt_7',
  timestamp: '1767238200',
  body: '{"type":"authorization.expiring","timestamp":"2026-01-01T03:30:00.000Z","data":{"event_id":7,"customer_id":"42","region":"EU","selling_partner_id":"A3EXAMPLE","reauthorize_by":"2026-01-28T10:00:00.000Z","days_left":27,"threshold_days":30}}',
  signature: 'v1,glWJvR1bPT5tDgORa2wvAlaNaipFZjaOdWa+ZHJ0R1o=',
} as const;

/** docs/oxwebapp.md's C# `ShipicaWebhook.Verify`, ported: same steps, same order. */
export function verifyLikeCSharp(secret: string, id: string, timestamp: string, signatureHeader: string, body: string, nowSeconds: number): boolean {
  if (!/^-?\d+$/.test(timestamp)) return false;
  const seconds = Number(timestamp);
  if (Math.abs(nowSeconds - seconds) > 300) return false;
  const key = Buffer.from(secret.startsWith('whsec_') ? secret.slice(6) : secret, 'base64');
  const expected = createHmac('sha256', key).update(Buffer.from(`${id}.${timestamp}.${body}`, 'utf8')).digest();
  for (const part of signatureHeader.split(' ')) {
    const comma = part.indexOf(',');
    if (comma < 0 || part.slice(0, comma) !== 'v1') continue;
    const given = Buffer.from(part.slice(comma + 1), 'base64');
    if (given.length === expected.length && timingSafeEqual(given, expected)) return true;
  }
  return false;
}
