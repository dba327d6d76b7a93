import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { verifyLikeCSharp, WEBHOOK_VECTOR } from './webhookSignatureVector.js';

/** docs/oxwebapp.md's webhook verifier (C#) and vector: what oxWebApp's developers copy must accept what the service signs. */
const readme = readFileSync(new URL('../../../docs/oxwebapp.md', import.meta.url), 'utf8');
const NOW = Number(WEBHOOK_VECTOR.timestamp) + 10;

describe('docs/oxwebapp.md webhook signature documentation', () => {
  it('states the fixed vector (secret, webhook-id, webhook-timestamp, body, webhook-signature)', () => {
    for (const value of Object.values(WEBHOOK_VECTOR)) expect(readme).toContain(value);
  });

  it('the standardwebhooks package signs the vector to the stated signature', () => {
    const signed = new Webhook(WEBHOOK_VECTOR.secret).sign(WEBHOOK_VECTOR.id, new Date(Number(WEBHOOK_VECTOR.timestamp) * 1000), WEBHOOK_VECTOR.body);
    expect(signed).toBe(WEBHOOK_VECTOR.signature);
  });

  it('the C# verifier, ported, accepts the vector', () => {
    const { secret, id, timestamp, signature, body } = WEBHOOK_VECTOR;
    expect(verifyLikeCSharp(secret, id, timestamp, signature, body, NOW)).toBe(true);
  });

  it('the ported verifier refuses a body changed by one character', () => {
    const { secret, id, timestamp, signature, body } = WEBHOOK_VECTOR;
    expect(verifyLikeCSharp(secret, id, timestamp, signature, body.replace('"42"', '"43"'), NOW)).toBe(false);
  });

  it('the ported verifier refuses a timestamp more than 5 minutes from its clock', () => {
    const { secret, id, timestamp, signature, body } = WEBHOOK_VECTOR;
    expect(verifyLikeCSharp(secret, id, timestamp, signature, body, NOW + 301)).toBe(false);
  });

  it('the ported verifier accepts a header listing several signatures when one of them is right', () => {
    const { secret, id, timestamp, signature, body } = WEBHOOK_VECTOR;
    expect(verifyLikeCSharp(secret, id, timestamp, `v1,${Buffer.alloc(32).toString('base64')} ${signature}`, body, NOW)).toBe(true);
  });

  it('the ported verifier agrees with the package on fresh secrets and bodies', () => {
    for (let i = 0; i < 20; i += 1) {
      const secret = `whsec_${randomBytes(24 + i).toString('base64')}`;
      const body = JSON.stringify({ type: 'authorization.granted', data: { n: i, text: randomBytes(8).toString('hex') } });
      const at = new Date(1767225600_000 + i * 1000);
      const signature = new Webhook(secret).sign(`evt_${i}`, at, body);
      expect(verifyLikeCSharp(secret, `evt_${i}`, String(Math.floor(at.getTime() / 1000)), signature, body, Math.floor(at.getTime() / 1000))).toBe(true);
    }
  });
});
