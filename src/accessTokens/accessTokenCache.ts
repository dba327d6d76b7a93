import type { Region } from '../authorization/marketplaces.js';
import type { Clock } from '../authorization/ports.js';

/**
 * Access tokens in this process's memory only (never written to a store or a log), keyed by (customer, region).
 * A token is served until REFRESH_MARGIN_MS before it expires. Bounded: the least recently used entry goes first,
 * so thousands of sellers cannot grow memory without limit.
 */
export const REFRESH_MARGIN_MS = 60_000;

export interface AccessToken {
  accessToken: string;
  expiresAt: Date;
  customerId: string;
  sellingPartnerId: string;
  region: Region;
}

export class AccessTokenCache {
  /** Map iteration order is insertion order: re-inserting on use keeps the least recently used first. */
  private readonly byCustomer = new Map<string, AccessToken>();
  private readonly customerBySeller = new Map<string, string>();

  constructor(
    readonly capacity: number,
    private readonly clock: Clock,
  ) {}

  get size(): number {
    return this.byCustomer.size;
  }

  get(customerId: string, region: Region): AccessToken | undefined {
    const key = customerKey(customerId, region);
    const token = this.byCustomer.get(key);
    if (token === undefined) return undefined;
    this.byCustomer.delete(key);
    if (token.expiresAt.getTime() - REFRESH_MARGIN_MS <= this.clock.now().getTime()) {
      this.customerBySeller.delete(sellerKey(token.sellingPartnerId, region));
      return undefined;
    }
    this.byCustomer.set(key, token);
    return token;
  }

  /** The customer whose cached token belongs to this seller, if one is cached. */
  customerOf(sellingPartnerId: string, region: Region): string | undefined {
    return this.customerBySeller.get(sellerKey(sellingPartnerId, region));
  }

  set(token: AccessToken): void {
    this.delete(token.customerId, token.region);
    this.byCustomer.set(customerKey(token.customerId, token.region), token);
    this.customerBySeller.set(sellerKey(token.sellingPartnerId, token.region), token.customerId);
    for (const [key, oldest] of this.byCustomer) {
      if (this.byCustomer.size <= this.capacity) break;
      this.byCustomer.delete(key);
      this.customerBySeller.delete(sellerKey(oldest.sellingPartnerId, oldest.region));
    }
  }

  delete(customerId: string, region: Region): void {
    const key = customerKey(customerId, region);
    const token = this.byCustomer.get(key);
    if (token === undefined) return;
    this.byCustomer.delete(key);
    this.customerBySeller.delete(sellerKey(token.sellingPartnerId, region));
  }
}

// Regions are two letters, so a region prefix keeps the key unambiguous whatever characters a customer id holds.
const customerKey = (customerId: string, region: Region) => `${region}|${customerId}`;
const sellerKey = (sellingPartnerId: string, region: Region) => `${sellingPartnerId}|${region}`;
