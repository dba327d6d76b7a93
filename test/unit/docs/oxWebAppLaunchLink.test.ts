import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { signedLaunchLink } from '../../../examples/launchLink.js';
import { buildLaunchLink, verifyLaunchLink } from '../../../src/authorization/launchLink.js';
import { LAUNCH_LINK_APPSTORE_VECTOR, LAUNCH_LINK_VECTOR } from '../../support/launchLinkVector.js';

/** docs/oxwebapp.md's launch-link snippet and test vector are what oxWebApp's developers copy: they must stay true. */
const readme = readFileSync(new URL('../../../docs/oxwebapp.md', import.meta.url), 'utf8');

function readmeVector(): { secret: string; message: string; sig: string } {
  const cell = (label: string) => new RegExp(`^\\| ${label} \\| \`([^\`]+)\` \\|$`, 'm').exec(readme)?.[1];
  return { secret: cell('secret') ?? '', message: cell('message') ?? '', sig: cell('sig') ?? '' };
}

describe('docs/oxwebapp.md launch-link documentation', () => {
  it('quotes examples/launchLink.ts verbatim', () => {
    const snippet = readFileSync(new URL('../../../examples/launchLink.ts', import.meta.url), 'utf8');
    expect(readme).toContain('```ts\n' + snippet + '```');
  });

  it('states the fixed test vector', () => {
    expect(readmeVector()).toEqual({ secret: LAUNCH_LINK_VECTOR.secret, message: LAUNCH_LINK_VECTOR.message, sig: LAUNCH_LINK_VECTOR.sig });
  });

  it('the TypeScript snippet signs the vector, and the service accepts what it signs', () => {
    const { secret, sig } = readmeVector();
    const url = signedLaunchLink('http://localhost:7071/', secret, '42', 'DE', 1767225600);
    expect(url).toBe(`http://localhost:7071/api/authorize?customer_id=42&marketplace=DE&expires=1767225600&sig=${sig}`);
    expect(url).toBe(buildLaunchLink('http://localhost:7071', { customerId: '42', marketplace: 'DE', expires: 1767225600 }, secret));
    const verified = verifyLaunchLink(new URL(url).searchParams, secret, 1767225600 - 60);
    expect(verified.ok).toBe(true);
  });

  it('states the Appstore vector, which the snippet and the service agree on', () => {
    const cell = (label: string) => new RegExp(`^\\| ${label} \\| (.+) \\|$`, 'm').exec(readme)?.[1] ?? '';
    const [callback, state, seller] = [...cell('amazon fields').matchAll(/`([^`]+)`/g)].map((m) => m[1] ?? '');
    const sig = /`([^`]+)`/.exec(cell('appstore sig'))?.[1];
    const amazon = { amazon_callback_uri: callback ?? '', amazon_state: state ?? '', selling_partner_id: seller ?? '' };
    const url = signedLaunchLink('http://localhost:7071', LAUNCH_LINK_VECTOR.secret, '42', 'US', 1767225600, amazon);
    expect(new URL(url).searchParams.get('sig')).toBe(sig);
    const A = LAUNCH_LINK_APPSTORE_VECTOR;
    expect([callback, state, seller, sig]).toEqual([A.amazonCallbackUri, A.amazonState, A.sellingPartnerId, A.sig]);
    const appstore = { amazonCallbackUri: amazon.amazon_callback_uri, amazonState: amazon.amazon_state, sellingPartnerId: amazon.selling_partner_id };
    expect(url).toBe(buildLaunchLink('http://localhost:7071', { customerId: '42', marketplace: 'US', expires: 1767225600, appstore }, LAUNCH_LINK_VECTOR.secret));
    const verified = verifyLaunchLink(new URL(url).searchParams, LAUNCH_LINK_VECTOR.secret, 1767225600 - 60);
    expect(verified.ok && verified.link.appstore).toEqual({ ...appstore, version: undefined });
  });
});
