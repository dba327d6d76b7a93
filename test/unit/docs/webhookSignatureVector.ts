/**
 * A fixed Standard Webhooks vector quoted in docs/oxwebapp.md (section "Verifying the signature") and checked against
 * examples/dotnet/ShipicaWebhookVerifier.cs. The signature was computed once with the `standardwebhooks` package
 * and is hard-coded, so a change in the signing cannot silently move it.
 */
export const WEBHOOK_VECTOR = {
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  id: 'evt_7',
  timestamp: '1767238200',
  body: '{"type":"authorization.expiring","timestamp":"2026-01-01T03:30:00.000Z","data":{"event_id":7,"customer_id":"42","region":"EU","selling_partner_id":"A3EXAMPLE","reauthorize_by":"2026-01-28T10:00:00.000Z","days_left":27,"threshold_days":30}}',
  signature: 'v1,glWJvR1bPT5tDgORa2wvAlaNaipFZjaOdWa+ZHJ0R1o=',
} as const;
