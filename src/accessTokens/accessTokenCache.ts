import type { AccessToken, Clock, CredentialGeneration, CredentialScope } from '../credentials/index.js';

/**
 * Access tokens in this process's memory only (never written to a store or a log), keyed by (customer, scope).
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

/** Who a scope-less request names: a customer (`c`) or a seller (`s`). */
export type RequesterKind = 'c' | 's';

export class AccessTokenCache {
  /** Map iteration order is insertion order: re-inserting on use keeps the least recently used first. */
  private readonly byCustomer = new Map<string, CachedAccessToken>();
  private readonly customerBySeller = new Map<string, string>();
  /**
   * For scope-less requests: the one scope a customer (or seller) was found authorized in. Dropped with the
   * entry it leads to, and when this process stores a token of that customer or seller for another scope.
   */
  private readonly soleScopes = new Map<string, CredentialScope>();
  /**
   * Change counter: every set or delete of an entry takes the next number, recorded per (customer, scope) and per
   * requester, so a refresh or a scope lookup that began earlier can tell that this process changed the row since.
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

  /** The current change number, to pass to changedSince / rememberSoleScope later. */
  mark(): number {
    return this.sequence;
  }

  /** The token for (customer, scope), unless absent or within the refresh margin of expiry. */
  get(customerId: string, scope: CredentialScope): AccessToken | undefined {
    return this.lookup(customerId, scope)?.token;
  }

  /** The entry for (customer, scope) with its generation and check time; counts as a use for the LRU order. */
  lookup(customerId: string, scope: CredentialScope): CachedAccessToken | undefined {
    const key = customerKey(customerId, scope);
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
  customerOf(sellingPartnerId: string, scope: CredentialScope): string | undefined {
    return this.customerBySeller.get(sellerKey(sellingPartnerId, scope));
  }

  soleScopeOf(kind: RequesterKind, id: string): CredentialScope | undefined {
    return this.soleScopes.get(requesterKey(kind, id));
  }

  /**
   * Remembers that a customer (or seller) is authorized in exactly `scope`, as read from the store when the change
   * number was `since`; ignored when this process stored or dropped a token for that requester after `since`.
   */
  rememberSoleScope(kind: RequesterKind, id: string, scope: CredentialScope, since: number): void {
    const key = requesterKey(kind, id);
    if ((this.lastChange.get(key) ?? -1) > since) return;
    this.soleScopes.delete(key);
    this.soleScopes.set(key, scope);
    trim(this.soleScopes, 2 * this.capacity);
  }

  /** The requester is no longer authorized in exactly one scope (as read from the store just now). */
  forgetSoleScope(kind: RequesterKind, id: string): void {
    this.soleScopes.delete(requesterKey(kind, id));
  }

  /** True when this process set or deleted the (customer, scope) entry after the change number `since`. */
  changedSince(customerId: string, scope: CredentialScope, since: number): boolean {
    return (this.lastChange.get(customerKey(customerId, scope)) ?? -1) > since;
  }

  /**
   * Stores a token made from the credential generation `generation` (checked against the store at this moment).
   * Replaces whatever (customer, scope) held; a scope-less resolution that pointed this customer or seller at
   * another scope is forgotten, since this one may now be a second scope.
   */
  set(token: AccessToken, generation: CredentialGeneration): void {
    const key = customerKey(token.customerId, token.scope);
    const previous = this.byCustomer.get(key);
    if (previous !== undefined) this.remove(key, previous);
    this.byCustomer.set(key, { token, generation, checkedAt: this.clock.now().getTime() });
    this.customerBySeller.set(sellerKey(token.sellingPartnerId, token.scope), token.customerId);
    for (const requester of [requesterKey('c', token.customerId), requesterKey('s', token.sellingPartnerId)]) {
      if (this.soleScopes.get(requester) !== token.scope) this.soleScopes.delete(requester);
    }
    this.noteChange(key, token.customerId, token.sellingPartnerId);
    for (const [oldestKey, oldest] of this.byCustomer) {
      if (this.byCustomer.size <= this.capacity) break;
      this.remove(oldestKey, oldest);
    }
  }

  /** The store still holds `generation` for this entry: it may be served for another recheck interval. */
  confirm(customerId: string, scope: CredentialScope, generation: CredentialGeneration): void {
    const entry = this.byCustomer.get(customerKey(customerId, scope));
    if (entry !== undefined && entry.generation === generation) entry.checkedAt = this.clock.now().getTime();
  }

  /** Drops the (customer, scope) entry, or only when it still holds `generation` if one is given. */
  delete(customerId: string, scope: CredentialScope, generation?: CredentialGeneration): void {
    const key = customerKey(customerId, scope);
    const entry = this.byCustomer.get(key);
    // Another generation is newer than the one being dropped (e.g. seeded by a re-authorization): it stays.
    if (generation !== undefined && entry?.generation !== generation) return;
    if (entry !== undefined) this.remove(key, entry);
    this.noteChange(key, customerId, entry?.token.sellingPartnerId);
  }

  private remove(key: string, entry: CachedAccessToken): void {
    const { customerId, sellingPartnerId, scope } = entry.token;
    this.byCustomer.delete(key);
    const seller = sellerKey(sellingPartnerId, scope);
    if (this.customerBySeller.get(seller) === customerId) this.customerBySeller.delete(seller);
    for (const requester of [requesterKey('c', customerId), requesterKey('s', sellingPartnerId)]) {
      if (this.soleScopes.get(requester) === scope) this.soleScopes.delete(requester);
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

// Scopes are two letters, so a scope prefix keeps the key unambiguous whatever characters a customer id holds.
const customerKey = (customerId: string, scope: CredentialScope) => `${scope}|${customerId}`;
const sellerKey = (sellingPartnerId: string, scope: CredentialScope) => `${sellingPartnerId}|${scope}`;
// Seller ids are letters and digits only, so `s|` and `c|` keys cannot collide with each other's ids.
const requesterKey = (kind: RequesterKind, id: string) => `${kind}|${id}`;
