import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { buildLaunchLink, MAX_LINK_LIFETIME_SECONDS } from '../authorization/launchLink.js';
import { findMarketplace } from '../authorization/marketplaces.js';
import { readLocalSettingValues } from '../config/localSettings.js';
import { isSandbox, sandboxEnvironment } from '../sandbox/sandboxSettings.js';

/**
 * `npm run launch-link -- --customer 42 [--marketplace DE] [--base-url http://localhost:7071] [--ttl 600]`
 * prints a signed AuthorizeStart URL, as oxWebApp makes them. Signs with LAUNCH_LINK_SECRET (environment or
 * local.settings.json); in sandbox mode with the sandbox's generated secret, so the link works with `npm start`.
 */
const usage = 'usage: npm run launch-link -- --customer ID [--marketplace US] [--base-url http://localhost:7071] [--ttl SECONDS]';

export interface CommandResult {
  code: number;
  output: string;
}

/** The command without process I/O, so tests can run it: argv, the settings it may read, and the time. */
export function launchLinkCommand(argv: string[], env: NodeJS.ProcessEnv, cwd: string, nowMs: number): CommandResult {
  let args;
  try {
    args = parseArgs({
      args: argv,
      options: {
        customer: { type: 'string' },
        marketplace: { type: 'string', default: 'US' },
        'base-url': { type: 'string', default: `http://localhost:${env['PORT'] ?? 7071}` },
        ttl: { type: 'string', default: '600' },
      },
    }).values;
  } catch (error) {
    return fail(`${error instanceof Error ? error.message : 'bad arguments'}\n${usage}`);
  }
  const customerId = args.customer;
  const marketplace = (args.marketplace ?? 'US').toUpperCase();
  const ttl = Number(args.ttl);
  if (customerId === undefined || customerId === '') return fail(`--customer is required.\n${usage}`);
  if (findMarketplace(marketplace) === undefined) return fail(`--marketplace ${marketplace} is not in the marketplace table.`);
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > MAX_LINK_LIFETIME_SECONDS) return fail(`--ttl must be 1..${MAX_LINK_LIFETIME_SECONDS} seconds.`);

  const baseUrl = args['base-url'] ?? 'http://localhost:7071';
  const local = readLocalSettingValues(cwd, env);
  const values = isSandbox(local.values, false)
    ? sandboxEnvironment(local.values, new URL(baseUrl).origin, join(cwd, '.data/sandbox-secrets.json')).values
    : local.values;
  const secret = values['LAUNCH_LINK_SECRET'];
  if (secret === undefined || Buffer.byteLength(secret) < 32) return fail('LAUNCH_LINK_SECRET is not set (or shorter than 32 bytes).');

  const expires = Math.floor(nowMs / 1000) + ttl;
  return { code: 0, output: buildLaunchLink(baseUrl, { customerId, marketplace, expires }, secret) };
}

function fail(message: string): CommandResult {
  return { code: 2, output: message };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const result = launchLinkCommand(process.argv.slice(2), process.env, process.cwd(), Date.now());
  (result.code === 0 ? console.log : console.error)(result.output);
  process.exitCode = result.code;
}
