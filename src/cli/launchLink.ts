import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { isPlaceholder } from '../config/settingReader.js';
import { findMarketplace } from '../credentials/index.js';
import { buildLaunchLink, MAX_LINK_LIFETIME_SECONDS } from '../authorization/launchLink.js';
import { helpRequested, runCommand } from './help.js';
import { prepareLocalRun } from './localRun.js';

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
  if (helpRequested(argv)) return { code: 0, output: usage };
  let args;
  try {
    args = parseArgs({
      args: argv,
      options: {
        customer: { type: 'string' },
        marketplace: { type: 'string', default: 'US' },
        'base-url': { type: 'string' },
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

  const givenBase = args['base-url'];
  let origin: string | undefined;
  try {
    origin = givenBase === undefined ? undefined : new URL(givenBase).origin;
  } catch {
    return fail(`--base-url must be an absolute URL such as http://localhost:7071.\n${usage}`);
  }
  const prepared = prepareLocalRun({ cwd, env, origin });
  if (!prepared.ok) return fail(prepared.problems.join('\n'));
  const baseUrl = givenBase ?? prepared.run.origin;
  const secret = prepared.run.values['LAUNCH_LINK_SECRET'];
  if (secret !== undefined && isPlaceholder(secret, 'LAUNCH_LINK_SECRET')) return fail('LAUNCH_LINK_SECRET is still a placeholder from local.settings.sample.json (REPLACE_WITH_… or <…>): put the real value in local.settings.json.');
  if (secret === undefined || Buffer.byteLength(secret) < 32) return fail('LAUNCH_LINK_SECRET is not set (or shorter than 32 bytes).');

  const expires = Math.floor(nowMs / 1000) + ttl;
  return { code: 0, output: buildLaunchLink(baseUrl, { customerId, marketplace, expires }, secret) };
}

function fail(message: string): CommandResult {
  return { code: 2, output: message };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await runCommand('launch-link', () => {
    const result = launchLinkCommand(process.argv.slice(2), process.env, process.cwd(), Date.now());
    (result.code === 0 ? console.log : console.error)(result.output);
    return result.code;
  });
}
