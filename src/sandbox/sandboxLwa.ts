import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../credentials/index.js';

/**
 * A stand-in for LWA's token endpoint (POST /auth/o2/token) that behaves as Amazon documents it: single-use
 * authorization codes that expire after 5 minutes and are bound to a client and redirect URI, `invalid_grant` for
 * a bad code or refresh token, 401 `invalid_client` for a wrong client id or secret, and the `refresh_token` grant.
 * Refresh tokens are self-verifying (HMAC), so they survive a restart of the local host; so do revocations when
 * `saveRevocations` keeps them (npm start saves them in .data/sandbox-secrets.json).
 */
export const CODE_LIFETIME_MS = 5 * 60 * 1000;

export interface TokenEndpointAnswer {
  status: number;
  body: Record<string, string | number>;
}

interface IssuedCode {
  clientId: string;
  redirectUri: string;
  sellingPartnerId: string;
  expiresAt: number;
  used: boolean;
}

export class SandboxLwa {
  private readonly codes = new Map<string, IssuedCode>();
  /** Per-seller generation: revoking bumps it, and only tokens of the current generation refresh. */
  private readonly generation = new Map<string, number>();
  /** Single grants revoked (revokeGrant): ids of the refresh tokens no longer honoured, whoever's seller they are. */
  private readonly revokedGrants: Set<string>;
  private readonly refreshKey: Buffer;
  /** Token requests answered, by grant type: what tests count. */
  readonly requests = { authorization_code: 0, refresh_token: 0, other: 0 };

  /** The client secrets LWA accepts now: one, or two for the days after a rotation. */
  private clientSecrets: readonly string[];

  constructor(
    private readonly options: {
      clientId: string;
      clientSecret: string;
      clock: Clock;
      /** Revocations saved by an earlier run: seller → generation of refresh tokens still honoured. */
      revocations?: Readonly<Record<string, number>>;
      /** Called with every revocation state after a change, to keep it across restarts. */
      saveRevocations?: (revocations: Readonly<Record<string, number>>) => void;
      /** Grants revoked one by one by an earlier run (revokeGrant's ids). */
      revokedGrants?: readonly string[];
      /** Called with every revoked grant id after a change, to keep them across restarts. */
      saveRevokedGrants?: (grants: readonly string[]) => void;
    },
  ) {
    this.revokedGrants = new Set(options.revokedGrants ?? []);
    // Keyed by the first secret and kept through rotations: rotating the client secret leaves refresh tokens valid.
    this.refreshKey = createHmac('sha256', options.clientSecret).update('sandbox refresh tokens').digest();
    this.clientSecrets = [options.clientSecret];
    for (const [seller, generation] of Object.entries(options.revocations ?? {})) this.generation.set(seller, generation);
  }

  /** A client-secret rotation at Amazon: from now on only these secrets are accepted. */
  acceptClientSecrets(...secrets: string[]): void {
    this.clientSecrets = secrets;
  }

  /** What Seller Central does when the seller clicks Confirm. */
  issueCode(input: { redirectUri: string; sellingPartnerId: string }): string {
    const code = `AN${randomBytes(15).toString('base64url')}`;
    this.codes.set(code, {
      clientId: this.options.clientId,
      redirectUri: input.redirectUri,
      sellingPartnerId: input.sellingPartnerId,
      expiresAt: this.options.clock.now().getTime() + CODE_LIFETIME_MS,
      used: false,
    });
    return code;
  }

  /**
   * Seller Central > Develop Apps > Authorize for a private (self-authorized) app: the refresh token is shown to the
   * seller once, with no code and no redirect.
   */
  selfAuthorize(sellingPartnerId: string): string {
    return this.refreshToken(sellingPartnerId);
  }

  /**
   * Refresh tokens issued for this seller so far stop working, as when a seller removes the app. Tokens issued by a
   * later authorization carry the new generation, so a re-authorization ends the revocation.
   */
  revokeSeller(sellingPartnerId: string): void {
    this.generation.set(sellingPartnerId, this.generationOf(sellingPartnerId) + 1);
    this.options.saveRevocations?.(Object.fromEntries(this.generation));
  }

  /**
   * One grant stops working, as when the seller removes the app from one Seller Central account (one region; in the Far
   * East one marketplace's account): the refresh token of that authorization is refused from now on, while the
   * seller's other grants (other regions, a private app's token) keep refreshing. False when it is not a refresh token
   * this sandbox issued. A re-authorization makes a new grant, which works.
   */
  revokeGrant(refreshToken: string): boolean {
    const payload = this.verifiedPayload(refreshToken);
    if (payload === undefined) return false;
    this.revokedGrants.add(grantId(payload));
    this.options.saveRevokedGrants?.([...this.revokedGrants]);
    return true;
  }

  private generationOf(sellingPartnerId: string): number {
    return this.generation.get(sellingPartnerId) ?? 0;
  }

  handleTokenRequest(form: URLSearchParams): TokenEndpointAnswer {
    const grantType = form.get('grant_type');
    if (grantType === 'authorization_code' || grantType === 'refresh_token') this.requests[grantType]++;
    else this.requests.other++;

    const clientId = form.get('client_id');
    const clientSecret = form.get('client_secret');
    if (clientId === null || clientSecret === null) return error(400, 'invalid_request', 'The request is missing a required parameter : client_id or client_secret');
    if (clientId !== this.options.clientId || !this.clientSecrets.some((secret) => sameText(clientSecret, secret))) {
      return error(401, 'invalid_client', 'Client authentication failed');
    }
    switch (grantType) {
      case 'authorization_code':
        return this.exchangeCode(form);
      case 'refresh_token':
        return this.refresh(form);
      case null:
        return error(400, 'invalid_request', 'The request is missing a required parameter : grant_type');
      default:
        return error(400, 'unsupported_grant_type', 'The authorization grant type is not supported by the authorization server');
    }
  }

  private exchangeCode(form: URLSearchParams): TokenEndpointAnswer {
    const code = form.get('code');
    const redirectUri = form.get('redirect_uri');
    if (code === null || redirectUri === null) return error(400, 'invalid_request', 'The request is missing a required parameter : code or redirect_uri');
    const issued = this.codes.get(code);
    const invalid = error(400, 'invalid_grant', 'The request has an invalid grant parameter : code');
    if (issued === undefined || issued.used) return invalid;
    issued.used = true; // a code is spent by its first use, right or wrong
    if (issued.expiresAt <= this.options.clock.now().getTime() || issued.redirectUri !== redirectUri || issued.clientId !== form.get('client_id')) {
      return invalid;
    }
    return {
      status: 200,
      body: {
        access_token: this.accessToken(issued.sellingPartnerId),
        refresh_token: this.refreshToken(issued.sellingPartnerId),
        token_type: 'bearer',
        expires_in: 3600,
      },
    };
  }

  private refresh(form: URLSearchParams): TokenEndpointAnswer {
    const token = form.get('refresh_token');
    if (token === null) return error(400, 'invalid_request', 'The request is missing a required parameter : refresh_token');
    const seller = this.verifyRefreshToken(token);
    if (seller === undefined) {
      return error(400, 'invalid_grant', "The request has an invalid grant parameter : refresh_token. User may have revoked or didn't grant the permission.");
    }
    return { status: 200, body: { access_token: this.accessToken(seller), token_type: 'bearer', expires_in: 3600 } };
  }

  /** `Atzr|` + payload + MAC, padded to the ~400 characters of a real one. */
  private refreshToken(sellingPartnerId: string): string {
    const claims = { sp: sellingPartnerId, g: this.generationOf(sellingPartnerId), n: randomBytes(180).toString('base64url') };
    const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
    return `Atzr|${payload}.${createHmac('sha256', this.refreshKey).update(payload).digest('base64url')}`;
  }

  private verifyRefreshToken(token: string): string | undefined {
    const payload = this.verifiedPayload(token);
    if (payload === undefined || this.revokedGrants.has(grantId(payload))) return undefined;
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { sp: string; g: number };
    return claims.g === this.generationOf(claims.sp) ? claims.sp : undefined;
  }

  /** The payload of a refresh token this sandbox issued (its MAC checked), else undefined. */
  private verifiedPayload(token: string): string | undefined {
    const match = /^Atzr\|([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]{43})$/.exec(token);
    if (match === null || match[1] === undefined || match[2] === undefined) return undefined;
    const expected = createHmac('sha256', this.refreshKey).update(match[1]).digest('base64url');
    return sameText(match[2], expected) ? match[1] : undefined;
  }

  /**
   * `Atza|` + payload (seller, expiry, padding to a real one's length) + MAC: self-verifying, so the sandbox SP-API
   * knows whose token it is, across restarts of the local host too.
   */
  private accessToken(sellingPartnerId: string): string {
    const claims = { sp: sellingPartnerId, exp: this.options.clock.now().getTime() + 3600_000, n: randomBytes(150).toString('base64url') };
    const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
    return `Atza|${payload}.${createHmac('sha256', this.refreshKey).update(`access:${payload}`).digest('base64url')}`;
  }

  /** The seller an unexpired access token of this sandbox was issued for (what SP-API checks), else undefined. */
  sellerOfAccessToken(token: string): string | undefined {
    const match = /^Atza\|([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]{43})$/.exec(token);
    if (match === null || match[1] === undefined || match[2] === undefined) return undefined;
    if (!sameText(match[2], createHmac('sha256', this.refreshKey).update(`access:${match[1]}`).digest('base64url'))) return undefined;
    const claims = JSON.parse(Buffer.from(match[1], 'base64url').toString('utf8')) as { sp: string; exp: number };
    return claims.exp > this.options.clock.now().getTime() ? claims.sp : undefined;
  }
}

/** A grant's id: the SHA-256 of its refresh token's payload (never the token itself), 43 base64url characters. */
function grantId(payload: string): string {
  return createHash('sha256').update(payload).digest('base64url');
}

function error(status: number, code: string, description: string): TokenEndpointAnswer {
  return { status, body: { error: code, error_description: description } };
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
