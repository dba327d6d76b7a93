/**
 * A fixed launch-link test vector, reusable by tests and quoted in docs/oxwebapp.md. The sig was computed once with an
 * independent implementation (node:crypto HMAC-SHA256 over `message`, key = UTF-8 of `secret`, base64url without
 * padding) and is hard-coded here so a change in the signing scheme cannot silently move it.
 */
export const LAUNCH_LINK_VECTOR = {
  secret: 'test-launch-link-secret-0123456789abcdef',
  customerId: '42',
  marketplace: 'DE',
  expires: 1767225600,
  message: 'customer_id=42&marketplace=DE&expires=1767225600',
  sig: 'Loa6zxeXSh0gcZao5WI0CVXJ5oRDsmHu78iB2iDi5Jw',
  url: 'http://localhost:7071/api/authorize?customer_id=42&marketplace=DE&expires=1767225600&sig=Loa6zxeXSh0gcZao5WI0CVXJ5oRDsmHu78iB2iDi5Jw',
} as const;

/**
 * The Appstore vector quoted beside it (docs/oxwebapp.md, "Test vectors"): the same secret and expiry, customer `42`
 * in the US, with what Amazon sent to the Login URI signed after the three fields (no `version`). Hard-coded likewise.
 */
export const LAUNCH_LINK_APPSTORE_VECTOR = {
  secret: LAUNCH_LINK_VECTOR.secret,
  customerId: '42',
  marketplace: 'US',
  expires: 1767225600,
  amazonCallbackUri: 'https://sellercentral.amazon.com/apps/authorize/confirm/amzn1.sp.solution.example',
  amazonState: 'amzn-state-123',
  sellingPartnerId: 'A3EXAMPLE',
  sig: '_TVoTJ-G753qBTId1d99SAb02aZyARn4kTSZBiZCMUM',
} as const;
