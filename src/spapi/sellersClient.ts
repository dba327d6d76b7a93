import axios, { type AxiosInstance } from 'axios';
import { z } from 'zod';
import type { Logger, Region } from '../credentials/index.js';
import { BOUNDED_REPLY, isReplyTooLarge, REPLY_TOO_LARGE } from '../outbound/replyLimit.js';

/**
 * The one SP-API operation this service calls itself: Sellers API `GET /sellers/v1/marketplaceParticipations` on the
 * seller's regional endpoint, with `x-amz-access-token` and a User-Agent naming the service (no AWS signing: not
 * needed since 2023-10-02). Answers are typed results, the JSON checked with zod; nothing is retried here: the sweep
 * calls it at most once per seller per run (the operation allows 0.016 requests/s per seller and app, burst 15).
 */
export const SPAPI_USER_AGENT = 'shipica-sp-api-seller-auth/0.1 (Language=TypeScript; Platform=Node.js)';
export const MARKETPLACE_PARTICIPATIONS_PATH = '/sellers/v1/marketplaceParticipations';

export interface Participation {
  marketplaceId: string;
  countryCode: string;
  name: string;
  isParticipating: boolean;
  storeName: string | null;
}

export type ParticipationsResult =
  | { kind: 'ok'; participations: Participation[]; rateLimit: number | undefined }
  /**
   * 403: the app or this authorization lacks the role the Sellers API needs, or Amazon is denying everyone (never
   * proof of a revocation). `detail`: what Amazon said (its first error's code and message, bounded).
   */
  | { kind: 'access_denied'; status: number; detail: string }
  /** 429: over the usage plan; `rateLimit` is x-amzn-RateLimit-Limit (requests/s), `retryAfterMs` what it implies. */
  | { kind: 'rate_limited'; rateLimit: number | undefined; retryAfterMs: number | undefined }
  | { kind: 'unavailable'; detail: string };

const participationsBody = z.object({
  payload: z.array(
    z.object({
      marketplace: z.object({ id: z.string().min(1).max(64), countryCode: z.string().max(8), name: z.string().max(200) }),
      participation: z.object({ isParticipating: z.boolean() }),
      storeName: z.string().max(200).optional(),
    }),
  ),
});

export interface SellersClientOptions {
  endpoints: Readonly<Record<Region, string>>;
  timeoutMs?: number;
  /** Where an answer refused for its size is logged (never its body). */
  logger?: Logger;
}

export class SellersClient {
  private readonly http: AxiosInstance;

  constructor(private readonly options: SellersClientOptions) {
    // An answer past MAX_REPLY_BYTES is cut off as it arrives (chunked or not), never buffered whole.
    this.http = axios.create({ maxRedirects: 0, responseType: 'text', timeout: options.timeoutMs ?? 10_000, validateStatus: () => true, proxy: false, ...BOUNDED_REPLY });
  }

  async marketplaceParticipations(region: Region, accessToken: string): Promise<ParticipationsResult> {
    let response;
    try {
      response = await this.http.get<string>(`${this.options.endpoints[region]}${MARKETPLACE_PARTICIPATIONS_PATH}`, {
        headers: { 'x-amz-access-token': accessToken, 'User-Agent': SPAPI_USER_AGENT, Accept: 'application/json' },
        // The whole request, not only the idle time (axios's timeout): a trickling answer cannot hold the sweep.
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 10_000),
      });
    } catch (error) {
      if (isReplyTooLarge(error)) {
        this.options.logger?.warn(`SP-API marketplaceParticipations answer refused: ${REPLY_TOO_LARGE}`, { region });
        return { kind: 'unavailable', detail: REPLY_TOO_LARGE };
      }
      // axios errors carry the request headers (the access token): keep only the code.
      return { kind: 'unavailable', detail: `request failed (${axios.isAxiosError(error) ? (error.code ?? 'unknown') : 'unknown'})` };
    }
    const rateLimit = rateOf(response.headers['x-amzn-ratelimit-limit']);
    if (response.status === 403) return { kind: 'access_denied', status: 403, detail: amazonSaid(response.data, accessToken) };
    if (response.status === 429) {
      return { kind: 'rate_limited', rateLimit, retryAfterMs: rateLimit === undefined || rateLimit <= 0 ? undefined : Math.ceil(1000 / rateLimit) };
    }
    if (response.status !== 200) return { kind: 'unavailable', detail: `HTTP ${response.status}` };
    let json: unknown;
    try {
      json = JSON.parse(String(response.data));
    } catch {
      return { kind: 'unavailable', detail: 'malformed JSON' };
    }
    const parsed = participationsBody.safeParse(json);
    if (!parsed.success) return { kind: 'unavailable', detail: 'unexpected answer shape' };
    return {
      kind: 'ok',
      rateLimit,
      participations: parsed.data.payload.map((p) => ({
        marketplaceId: p.marketplace.id,
        countryCode: p.marketplace.countryCode,
        name: p.marketplace.name,
        isParticipating: p.participation.isParticipating,
        storeName: p.storeName ?? null,
      })),
    };
  }
}

/** SP-API's error list (`{"errors":[{"code","message"}]}`), as the JSON error bodies of its 4xx answers hold it. */
const errorsBody = z.object({ errors: z.array(z.object({ code: z.string().max(100), message: z.string().max(1000).optional() })).min(1) });
/** Longest `detail` kept of what Amazon said. */
const DETAIL_LIMIT = 300;

/** `HTTP 403 <code>: <message>` from an SP-API error body, or `HTTP 403` when it holds none (HTML, say); never the token sent. */
function amazonSaid(body: unknown, accessToken: string): string {
  let json: unknown;
  try {
    json = JSON.parse(String(body));
  } catch {
    return 'HTTP 403';
  }
  const parsed = errorsBody.safeParse(json);
  const first = parsed.success ? parsed.data.errors[0] : undefined;
  if (first === undefined) return 'HTTP 403';
  const said = `HTTP 403 ${first.code}${first.message === undefined ? '' : `: ${first.message}`}`;
  return (accessToken === '' ? said : said.split(accessToken).join('[redacted]')).replace(/[\u0000-\u001f\u007f]/g, ' ').slice(0, DETAIL_LIMIT);
}

function rateOf(header: unknown): number | undefined {
  if (typeof header !== 'string' || !/^\d+(\.\d+)?$/.test(header.trim())) return undefined;
  return Number(header);
}
