import { createHmac } from 'node:crypto';

/** Signs an AuthorizeStart launch link: what oxWebApp does behind the "Authorize Shipica" button. */
export function signedLaunchLink(
  baseUrl: string, // e.g. https://shipica-spapi-auth.azurewebsites.net
  secret: string, // LAUNCH_LINK_SECRET, shared with the service
  customerId: string,
  marketplace: string, // US, CA, DE, JP, …
  expires: number = Math.floor(Date.now() / 1000) + 600, // unix seconds, at most 1 hour ahead
): string {
  const message = new URLSearchParams({ customer_id: customerId, marketplace, expires: String(expires) }).toString();
  const sig = createHmac('sha256', Buffer.from(secret, 'utf8')).update(message, 'utf8').digest('base64url');
  return `${baseUrl.replace(/\/+$/, '')}/api/authorize?${message}&sig=${sig}`;
}
