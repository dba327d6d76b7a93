import type { AccessToken, Clock, CredentialGeneration, Region } from '../credentials/index.js';

/**
 * Access tokens in this process's memory only (never written to a store or a log), keyed by (customer, region).
 * A token is served until REFRESH_MARGIN_MS before it expires. Bounded: the least recently used entry goes first,
 * so thousands of sellers cannot grow memory without limit.
 *
 * Every entry carries the credential generation it was made from (see credentialGeneration), so a token is never
 * served for a row that has since changed seller, refresh token or status, and the time it was last checked against
 * the store (the service re-checks entries older than ACCESS_TOKEN_RECHECK_SECONDS).
 */
export const REFRESH_MARGIN_MS = 60_000;

export interface CachedAccessToken {
  token: AccessToken;
  generation: CredentialGeneration;
  /** Clock time (ms) when the generation was last read from (or written to) the store. */
  checkedAt: number;
}

/** Who a region-less request names: a customer (`c`) or a seller (`s`). */
export type RequesterKind = 'c' | 's';

export class AccessTokenCache {
  /** Map iteration order is insertion order: re-inserting on use keeps the least recently used first. */
  private readonly byCustomer = new Map<string, CachedAccessToken>();
  private readonly customerBySeller = new Map<string, string>();
  /**
   * For region-less requests: the one region a customer (or seller) was found authorized in. Dropped with the
   * entry it leads to, and when this process stores a token of that customer or seller for another region.
   */
  private readonly soleRegions = new Map<string, Region>();
  /**
   * Change counter: every set or delete of an entry takes the next number, recorded per (customer, region) and per
   * requester, so a refresh or a region lookup that began earlier can tell that this process changed the row since.
   */
  private sequence = 0;
  private readonly lastChange = new Map<string, number>();

  constructor(
    readonly capacity: number,
    private readonly clock: Clock,
  ) {}

  get size(): number {
    return this.byCustomer.size;
  }

  /** The current change number, to pass to changedSince / rememberSoleRegion later. */
  mark(): number {
    return this.sequence;
  }

  /** The token for (customer, region), unless absent or within the refresh margin of expiry. */
  get(customerId: string, region: Region): AccessToken | undefined {
    return this.lookup(customerId, region)?.token;
  }

  /** The entry for (customer, region) with its generation and check time; counts as a use for the LRU order. */
  lookup(customerId: string, region: Region): CachedAccessToken | undefined {
    const key = customerKey(customerId, region);
    const entry = this.byCustomer.get(key);
    if (entry === undefined) return undefined;
    if (entry.token.expiresAt.getTime() - REFRESH_MARGIN_MS <= this.clock.now().getTime()) {
      this.remove(key, entry);
      return undefined;
    }
    this.byCustomer.delete(key);
    this.byCustomer.set(key, entry);
    return entry;
  }

  /** The customer whose cached token belongs to this seller, if one is cached. */
  customerOf(sellingPartnerId: string, region: Region): string | undefined {
    return this.customerBySeller.get(sellerKey(sellingPartnerId, region));
  }

  soleRegionOf(kind: RequesterKind, id: string): Region | undefined {
    return this.soleRegions.get(requesterKey(kind, id));
  }

  /**
   * Remembers that a customer (or seller) is authorized in exactly `region`, as read from the store when the change
   * number was `since`; ignored when this process stored or dropped a token for that requester after `since`.
   */
  rememberSoleRegion(kind: RequesterKind, id: string, region: Region, since: number): void {
    const key = requesterKey(kind, id);
    if ((this.lastChange.get(key) ?? -1) > since) return;
    this.soleRegions.delete(key);
    this.soleRegions.set(key, region);
    trim(this.soleRegions, 2 * this.capacity);
  }

  /** The requester is no longer authorized in exactly one region (as read from the store just now). */
  forgetSoleRegion(kind: RequesterKind, id: string): void {
    this.soleRegions.delete(requesterKey(kind, id));
  }

  /** True when this process set or deleted the (customer, region) entry after the change number `since`. */
  changedSince(customerId: string, region: Region, since: number): boolean {
    return (this.lastChange.get(customerKey(customerId, region)) ?? -1) > since;
  }

  /**
   * Stores a token made from the credential generation `generation` (checked against the store at this moment).
   * Replaces whatever (customer, region) held; a region-less resolution that pointed this customer or seller at
   * another region is forgotten, since this one may now be a second region.
   */
  set(token: AccessToken, generation: CredentialGeneration): void {
    const key = customerKey(token.customerId, token.region);
    const previous = this.byCustomer.get(key);
    if (previous !== undefined) this.remove(key, previous);
    this.byCustomer.set(key, { token, generation, checkedAt: this.clock.now().getTime() });
    this.customerBySeller.set(sellerKey(token.sellingPartnerId, token.region), token.customerId);
    for (const requester of [requesterKey('c', token.customerId), requesterKey('s', token.sellingPartnerId)]) {
      if (this.soleRegions.get(requester) !== token.region) this.soleRegions.delete(requester);
    }
    this.noteChange(key, token.customerId, token.sellingPartnerId);
    for (const [oldestKey, oldest] of this.byCustomer) {
      if (this.byCustomer.size <= this.capacity) break;
      this.remove(oldestKey, oldest);
    }
  }

  /** The store still holds `generation` for this entry: it may be served for another recheck interval. */
  confirm(customerId: string, region: Region, generation: CredentialGeneration): void {
    const entry = this.byCustomer.get(customerKey(customerId, region));
    if (entry !== undefined && entry.generation === generation) entry.checkedAt = this.clock.now().getTime();
  }

  /** Drops the (customer, region) entry, or only when it still holds `generation` if one is given. */
  delete(customerId: string, region: Region, generation?: CredentialGeneration): void {
    const key = customerKey(customerId, region);
    const entry = this.byCustomer.get(key);
    // Another generation is newer than the one being dropped (e.g. seeded by a re-authorization): it stays.
    if (generation !== undefined && entry?.generation !== generation) return;
    if (entry !== undefined) this.remove(key, entry);
    this.noteChange(key, customerId, entry?.token.sellingPartnerId);
  }

  private remove(key: string, entry: CachedAccessToken): void {
    const { customerId, sellingPartnerId, region } = entry.token;
    this.byCustomer.delete(key);
    const seller = sellerKey(sellingPartnerId, region);
    if (this.customerBySeller.get(seller) === customerId) this.customerBySeller.delete(seller);
    for (const requester of [requesterKey('c', customerId), requesterKey('s', sellingPartnerId)]) {
      if (this.soleRegions.get(requester) === region) this.soleRegions.delete(requester);
    }
  }

  private noteChange(key: string, customerId: string, sellingPartnerId: string | undefined): void {
    this.sequence += 1;
    const keys = [key, requesterKey('c', customerId), ...(sellingPartnerId === undefined ? [] : [requesterKey('s', sellingPartnerId)])];
    for (const changed of keys) {
      this.lastChange.delete(changed);
      this.lastChange.set(changed, this.sequence);
    }
    // Bounded too; a change old enough to be dropped here predates any refresh still in flight in practice, and the
    // refresh re-reads the row's generation anyway.
    trim(this.lastChange, 6 * this.capacity);
  }
}

function trim<K, V>(map: Map<K, V>, limit: number): void {
  for (const key of map.keys()) {
    if (map.size <= limit) break;
    map.delete(key);
  }
}

// Regions are two letters, so a region prefix keeps the key unambiguous whatever characters a customer id holds.
const customerKey = (customerId: string, region: Region) => `${region}|${customerId}`;
const sellerKey = (sellingPartnerId: string, region: Region) => `${sellingPartnerId}|${region}`;
// Seller ids are letters and digits only, so `s|` and `c|` keys cannot collide with each other's ids.
const requesterKey = (kind: RequesterKind, id: string) => `${kind}|${id}`;
