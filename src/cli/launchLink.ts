import { parseArgs } from 'node:util';
import { buildLaunchLink, MAX_LINK_LIFETIME_SECONDS } from '../authorization/launchLink.js';
import { findMarketplace } from '../authorization/marketplaces.js';
import { readLocalSettingValues } from '../config/localSettings.js';
import { isSandbox, withSandboxDefaults } from '../sandbox/sandboxSettings.js';

/**
 * `npm run launch-link -- --customer 42 [--marketplace DE] [--base-url http://localhost:7071] [--ttl 600]`
 * prints a signed AuthorizeStart URL, as oxWebApp makes them. Signs with LAUNCH_LINK_SECRET (environment or
 * local.settings.json); in sandbox mode with the sandbox's generated secret, so the link works with `npm start`.
 */
const usage = 'usage: npm run launch-link -- --customer ID [--marketplace US] [--base-url http://localhost:7071] [--ttl SECONDS]';

function main(): number {
  let args;
  try {
    args = parseArgs({
      options: {
        customer: { type: 'string' },
        marketplace: { type: 'string', default: 'US' },
        'base-url': { type: 'string', default: `http://localhost:${process.env['PORT'] ?? 7071}` },
        ttl: { type: 'string', default: '600' },
      },
    }).values;
  } catch (error) {
    console.error(`${error instanceof Error ? error.message : 'bad arguments'}\n${usage}`);
    return 2;
  }
  const customerId = args.customer;
  const marketplace = (args.marketplace ?? 'US').toUpperCase();
  const ttl = Number(args.ttl);
  if (customerId === undefined || customerId === '') return fail(`--customer is required.\n${usage}`);
  if (findMarketplace(marketplace) === undefined) return fail(`--marketplace ${marketplace} is not in the marketplace table.`);
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > MAX_LINK_LIFETIME_SECONDS) return fail(`--ttl must be 1..${MAX_LINK_LIFETIME_SECONDS} seconds.`);

  const baseUrl = args['base-url'] ?? 'http://localhost:7071';
  const local = readLocalSettingValues();
  const values = isSandbox(local.values, false) ? withSandboxDefaults(local.values, new URL(baseUrl).origin) : local.values;
  const secret = values['LAUNCH_LINK_SECRET'];
  if (secret === undefined || Buffer.byteLength(secret) < 32) return fail('LAUNCH_LINK_SECRET is not set (or shorter than 32 bytes).');

  const expires = Math.floor(Date.now() / 1000) + ttl;
  console.log(buildLaunchLink(baseUrl, { customerId, marketplace, expires }, secret));
  return 0;
}

function fail(message: string): number {
  console.error(message);
  return 2;
}

process.exitCode = main();
