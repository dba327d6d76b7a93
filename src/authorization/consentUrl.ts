import type { Marketplace } from '../credentials/index.js';

export interface ConsentUrlInput {
  marketplace: Marketplace;
  applicationId: string;
  state: string;
  redirectUri: string;
  /** Draft apps need `version=beta`; a published app given it fails, so it is sent only for Draft apps. */
  draftApp: boolean;
  /** Replaces the marketplace's Seller Central origin (sandbox, tests). */
  sellerCentralUrl: string | undefined;
}

/** `{Seller Central}/apps/authorize/consent?application_id=…&state=…&redirect_uri=…[&version=beta]` */
export function buildConsentUrl(input: ConsentUrlInput): string {
  const base = input.sellerCentralUrl ?? `https://${input.marketplace.sellerCentralHost}`;
  const url = new URL(`${base}/apps/authorize/consent`);
  // URLSearchParams, never string concatenation: a second "?" before version=beta is a known MD9999 cause.
  url.searchParams.set('application_id', input.applicationId);
  url.searchParams.set('state', input.state);
  url.searchParams.set('redirect_uri', input.redirectUri);
  if (input.draftApp) url.searchParams.set('version', 'beta');
  return url.toString();
}
