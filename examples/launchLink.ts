import { createHmac } from 'node:crypto';

/** What Amazon sent to the Login URI, passed on to oxWebApp (Appstore installs only). */
export interface AmazonLogin {
  amazon_callback_uri: string;
  amazon_state: string;
  selling_partner_id: string;
  version?: string; // 'beta', when Amazon sent it
}

/** Signs an AuthorizeStart launch link: what oxWebApp does behind the "Authorize Shipica" button. */
export function signedLaunchLink(
  baseUrl: string, // e.g. https://shipica-spapi-auth.azurewebsites.net
  secret: string, // LAUNCH_LINK_SECRET, shared with the service
  customerId: string,
  marketplace: string, // US, CA, DE, JP, …
  expires: number = Math.floor(Date.now() / 1000) + 600, // unix seconds, at most 1 hour ahead
  amazon?: AmazonLogin, // after an Appstore install: the fields oxWebApp received, signed in this order
): string {
  const fields: Array<[string, string]> = [['customer_id', customerId], ['marketplace', marketplace], ['expires', String(expires)]];
  if (amazon !== undefined) {
    fields.push(['amazon_callback_uri', amazon.amazon_callback_uri], ['amazon_state', amazon.amazon_state], ['selling_partner_id', amazon.selling_partner_id]);
    if (amazon.version !== undefined) fields.push(['version', amazon.version]);
  }
  const message = new URLSearchParams(fields).toString();
  const sig = createHmac('sha256', Buffer.from(secret, 'utf8')).update(message, 'utf8').digest('base64url');
  return `${baseUrl.replace(/\/+$/, '')}/api/authorize?${message}&sig=${sig}`;
}
