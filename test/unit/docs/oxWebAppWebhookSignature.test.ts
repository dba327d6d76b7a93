import { readFileSync } from 'node:fs';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { WEBHOOK_VECTOR } from './webhookSignatureVector.js';

/**
 * docs/oxwebapp.md's webhook vector: what the service signs. The C# verifier the page points to is checked against it
 * by test/unit/examples/dotnetExamples.test.ts.
 */
const readme = readFileSync(new URL('../../../docs/oxwebapp.md', import.meta.url), 'utf8');

describe('docs/oxwebapp.md webhook signature documentation', () => {
  it('states the fixed vector (secret, webhook-id, webhook-timestamp, body, webhook-signature)', () => {
    for (const value of Object.values(WEBHOOK_VECTOR)) expect(readme).toContain(value);
  });

  it('the standardwebhooks package signs the vector to the stated signature', () => {
    const signed = new Webhook(WEBHOOK_VECTOR.secret).sign(WEBHOOK_VECTOR.id, new Date(Number(WEBHOOK_VECTOR.timestamp) * 1000), WEBHOOK_VECTOR.body);
    expect(signed).toBe(WEBHOOK_VECTOR.signature);
  });
});
