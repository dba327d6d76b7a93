import { parseArgs } from 'node:util';
import { findMarketplace, isRegion, type CredentialScope } from '../../credentials/index.js';

/** Every option of every subcommand: parsed once, strictly; each subcommand then refuses the ones not its own. */
const OPTIONS = {
  customer: { type: 'string' },
  expiring: { type: 'string' },
  since: { type: 'string' },
  region: { type: 'string' },
  'older-than': { type: 'string' },
  'dry-run': { type: 'boolean', default: false },
  marketplace: { type: 'string' },
  'selling-partner-id': { type: 'string' },
  yes: { type: 'boolean', default: false },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

function parse(argv: string[]) {
  return parseArgs({ args: argv, allowPositionals: true, strict: true, options: OPTIONS });
}

export type OpsOptions = ReturnType<typeof parse>['values'];

/**
 * What a secret pasted as an argument looks like. Told by position and kind only: the value itself is never printed
 * (it would land in the terminal's scrollback and in logs of whatever ran the command).
 */
const SECRET_SHAPES: ReadonlyArray<{ kind: string; shaped: (value: string) => boolean }> = [
  { kind: 'an LWA refresh token (Atzr|…)', shaped: (v) => /^atzr\|/i.test(v) },
  { kind: 'an LWA access token (Atza|…)', shaped: (v) => /^atza\|/i.test(v) },
  { kind: 'an LWA client secret (amzn1.oa2-cs.…)', shaped: (v) => /^amzn1\.oa2-cs\./i.test(v) },
  { kind: 'a webhook secret (whsec_…)', shaped: (v) => /^whsec_/i.test(v) },
  // A key, a launch-link secret, a token without its prefix: 40 or more base64, base64url or hex characters in a row
  // that look random (upper and lower case letters and digits, or hex digits with letters and digits). A long id of
  // words or digits (`customer-with-a-rather-long-identifier-0042`, a numeric id) is not one.
  { kind: 'a secret (40 or more base64 or hex characters)', shaped: (v) => (v.match(/[A-Za-z0-9+/_=-]{40,}/g) ?? []).some(looksRandom) },
];

function looksRandom(run: string): boolean {
  const digits = /[0-9]/.test(run);
  const hex = /^[0-9a-fA-F]+$/.test(run) && /[a-fA-F]/.test(run) && digits;
  return hex || (/[A-Z]/.test(run) && /[a-z]/.test(run) && digits);
}

/** The first argument shaped like a secret: its position (1 = the first after `--`) and kind, never its value. */
export function secretArgument(argv: readonly string[]): { position: number; kind: string } | undefined {
  for (const [i, argument] of argv.entries()) {
    // `--customer=Atzr|…` is the option's value too.
    const value = argument.replace(/^--?[A-Za-z-]+=/, '');
    const shape = SECRET_SHAPES.find((s) => s.shaped(value) || s.shaped(argument));
    if (shape !== undefined) return { position: i + 1, kind: shape.kind };
  }
  return undefined;
}

/** The options and positionals of `npm run ops -- …`, or what node:util's parseArgs found wrong. */
export function readArguments(argv: string[]): { options: OpsOptions; positionals: string[] } | string {
  try {
    const { values, positionals } = parse(argv);
    return { options: values, positionals };
  } catch (error) {
    return error instanceof Error ? error.message : 'bad arguments';
  }
}

/** The first option given (in argument order) that `kind` does not take. */
export function misplacedOption(kind: string, options: OpsOptions, allowed: readonly string[]): string | undefined {
  const given = Object.entries(options).filter(([name, value]) => value !== undefined && value !== false && name !== 'help');
  const wrong = given.find(([name]) => !allowed.includes(name));
  return wrong === undefined ? undefined : `--${wrong[0]} does not belong to ${kind}`;
}

export function unexpectedArguments(extra: string[]): string | undefined {
  return extra.length > 0 ? `unexpected argument "${extra.join(' ')}"` : undefined;
}

/**
 * What the listings (status, attempts) take in common: an optional customer and --json, and none of the other
 * commands' options (checked in this order). An unknown command is checked the same way before it is named unknown.
 */
export function listingArguments(kind: string, options: OpsOptions, extra: string[]): { customerId: string | undefined; json: boolean } | string {
  for (const name of ['region', 'older-than', 'dry-run', 'yes', 'marketplace', 'selling-partner-id'] as const) {
    if (options[name] !== undefined && options[name] !== false) return `--${name} does not belong to ${kind}`;
  }
  const unexpected = unexpectedArguments(extra);
  if (unexpected !== undefined) return unexpected;
  const customerId = options.customer;
  if (customerId !== undefined && customerId.trim() === '') return '--customer needs a customer id';
  return { customerId, json: options.json === true };
}

/** How a command names one credential: --region NA|EU, or --marketplace (a Far East credential is one marketplace's). */
export const SCOPE_USAGE = '--region NA|EU | --marketplace JP|AU|SG';

/**
 * The credential scope `kind` names with --region or --marketplace (one of the two): NA and EU by region, the Far
 * East by marketplace (JP, AU and SG are authorized one by one); any marketplace names its scope (DE is EU).
 */
export function scopeOption(kind: string, options: OpsOptions): CredentialScope | string {
  const region = options.region?.toUpperCase();
  const marketplace = options.marketplace?.toUpperCase();
  if (region !== undefined && marketplace !== undefined) return `${kind} takes --region or --marketplace, not both`;
  if (marketplace !== undefined) {
    const found = findMarketplace(marketplace);
    return found === undefined ? `${kind}: --marketplace is not a marketplace code (US, DE, JP, AU, SG, …)` : found.scope;
  }
  if (region === 'FE') return `${kind}: the Far East is authorized per marketplace: name it with --marketplace JP, AU or SG`;
  if (region === undefined || !isRegion(region)) return `${kind} needs ${SCOPE_USAGE}`;
  return region;
}

export const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** `90m`, `24h`, `7d` → milliseconds; anything else (zero included) → undefined. */
export function parseDuration(text: string): number | undefined {
  const match = /^(\d{1,6})([mhd])$/.exec(text.trim());
  if (match?.[1] === undefined || match[2] === undefined) return undefined;
  const amount = Number(match[1]);
  if (amount < 1) return undefined;
  return amount * UNIT_MS[match[2] as keyof typeof UNIT_MS];
}
