import { isValidCustomerId } from '../../authorization/launchLink.js';
import { importRefreshToken, REFRESH_TOKEN_PREFIX } from '../../authorization/importRefreshToken.js';
import { misplacedOption, type OpsOptions } from './arguments.js';
import { SecretInputTooLarge, type OpsContext } from './context.js';

export const IMPORT_USAGE =
  'npm run ops -- import-refresh-token --customer ID --marketplace US [--selling-partner-id A…]   (the token on standard input)';

/** The refusal of a refresh token given as an argument (it would stay in the shell's history and the process list). */
export const IMPORT_TOKEN_ARGUMENT = 'the refresh token is read from standard input, never from an argument';

export interface ImportCommand {
  kind: 'import';
  customerId: string;
  marketplace: string;
  sellingPartnerId: string | undefined;
}

export function parseImport(options: OpsOptions, extra: string[]): ImportCommand | string {
  const problem = misplacedOption('import-refresh-token', options, ['customer', 'marketplace', 'selling-partner-id']);
  if (problem !== undefined) return problem;
  // Never as an argument: it would stay in the shell's history and the process list.
  // An option's value shaped like one (pasted in the wrong place) gets the same answer, and is never repeated.
  const pasted = Object.values(options).some((v) => typeof v === 'string' && v.startsWith(REFRESH_TOKEN_PREFIX));
  if (extra.length > 0 || pasted) return IMPORT_TOKEN_ARGUMENT;
  if (options.customer === undefined || !isValidCustomerId(options.customer)) return 'import-refresh-token needs --customer with a valid customer id';
  if (options.marketplace === undefined) return 'import-refresh-token needs --marketplace (US, DE, JP, …)';
  return { kind: 'import', customerId: options.customer, marketplace: options.marketplace.toUpperCase(), sellingPartnerId: options['selling-partner-id'] };
}

/** Reads the token from standard input, proves it, stores it; says what happened without ever showing the token. */
export async function runImport(command: ImportCommand, { services, print, readSecret }: OpsContext): Promise<number> {
  let input: string;
  try {
    input = await readSecret();
  } catch (error) {
    if (!(error instanceof SecretInputTooLarge)) throw error;
    print(`ops: standard input holds more than ${error.limitBytes / 1024} KiB, and a refresh token is at most 2048 bytes: it was not read further, nothing was asked or stored`);
    return 2;
  }
  const refreshToken = input.trim();
  if (refreshToken === '') {
    print('ops: no refresh token on standard input (paste it, or pipe it: ... < token.txt)');
    return 2;
  }
  const result = await importRefreshToken(
    { ...services, lwaTimeoutMs: services.settings.lwa.timeoutMs },
    { customerId: command.customerId, marketplace: command.marketplace, sellingPartnerId: command.sellingPartnerId, refreshToken },
  );
  if (!result.ok) {
    print(`ops: ${result.reason}: ${result.message}`);
    return 1;
  }
  print(
    `imported: customer ${command.customerId} in ${result.scope}, seller ${result.sellingPartnerId}, ` +
      `${result.verified ? `sells in ${result.countryCodes.join(',')}${result.storeName === null ? '' : ` (${result.storeName})`}` : 'marketplaces not verified (SP-API did not answer)'}; ` +
      `stored encrypted as authorized (attempt self_authorization, event ${result.event})`,
  );
  if (services.events.enabled) await services.events.deliverDue();
  return 0;
}
