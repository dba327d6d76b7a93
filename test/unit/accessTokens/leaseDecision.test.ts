import { describe, expect, it } from 'vitest';
import { FORCED_REFRESH_REUSE_MS, leaseDecision, REFRESH_AHEAD_MS, type LeaseDecision, type LeaseOptions, type LeaseSource } from '../../../src/accessTokens/leaseDecision.js';

const NOW = new Date('2026-03-02T10:00:00.000Z');
const ME = 'p1-aaaaaaaaaaaaaaaa.1';
const OTHER = 'p2-bbbbbbbbbbbbbbbb.7';

const at = (msFromNow: number) => new Date(NOW.getTime() + msFromNow);
/** A current token that expires `msLeft` from now. */
const token = (msLeft: number) => ({ expiresAt: at(msLeft) });
const lease = (owner: string | null, untilFromNow: number | null, refreshedFromNow: number | null = null): LeaseSource<{ expiresAt: Date }>['shared'] => ({
  leaseOwner: owner,
  leaseUntil: untilFromNow === null ? null : at(untilFromNow),
  refreshedAt: refreshedFromNow === null ? null : at(refreshedFromNow),
});

const PLAIN: LeaseOptions = { force: false, prove: false, owner: ME };
const FORCED: LeaseOptions = { force: true, prove: false, owner: ME };
const PROVING: LeaseOptions = { force: true, prove: true, owner: ME };

type Expected = 'serve' | 'claim, else serve' | 'claim, else wait' | 'wait';

function described(decision: LeaseDecision<unknown>): Expected {
  if (decision.action !== 'claim') return decision.action;
  return decision.servedIfLost === undefined ? 'claim, else wait' : 'claim, else serve';
}

interface Case {
  name: string;
  source: LeaseSource<{ expiresAt: Date }>;
  options: LeaseOptions;
  expected: Expected;
}

const c = (name: string, source: Case['source'], options: LeaseOptions, expected: Expected): Case => ({ name, source, options, expected });

const CASES: Case[] = [
  // Nothing to serve.
  c('no shared row', { current: undefined, shared: undefined }, PLAIN, 'claim, else wait'),
  c('no servable token, no lease', { current: undefined, shared: lease(null, null) }, PLAIN, 'claim, else wait'),
  c('no servable token, lease held by another', { current: undefined, shared: lease(OTHER, 10_000) }, PLAIN, 'wait'),
  c('no servable token, another\'s lease lapsed at this instant', { current: undefined, shared: lease(OTHER, 0) }, PLAIN, 'claim, else wait'),
  c('no servable token, another\'s lease lapsed', { current: undefined, shared: lease(OTHER, -1) }, PLAIN, 'claim, else wait'),
  c('no servable token, lease held by this refresh', { current: undefined, shared: lease(ME, 10_000) }, PLAIN, 'claim, else wait'),
  c('no servable token, lease deadline without owner', { current: undefined, shared: lease(null, 10_000) }, PLAIN, 'claim, else wait'),
  // A current token, plain request.
  c('token with an hour left', { current: token(3600_000), shared: lease(null, null) }, PLAIN, 'serve'),
  c('token with exactly REFRESH_AHEAD_MS left', { current: token(REFRESH_AHEAD_MS), shared: lease(null, null) }, PLAIN, 'serve'),
  c('token 1 ms inside REFRESH_AHEAD_MS, no lease', { current: token(REFRESH_AHEAD_MS - 1), shared: lease(null, null) }, PLAIN, 'claim, else serve'),
  c('token inside REFRESH_AHEAD_MS, another refreshing ahead', { current: token(60_000 + 1), shared: lease(OTHER, 10_000) }, PLAIN, 'serve'),
  c('token inside REFRESH_AHEAD_MS, another\'s lease lapsed', { current: token(60_000 + 1), shared: lease(OTHER, 0) }, PLAIN, 'claim, else serve'),
  c('token inside REFRESH_AHEAD_MS, lease held by this refresh', { current: token(60_000 + 1), shared: lease(ME, 10_000) }, PLAIN, 'claim, else serve'),
  // Forced: served only a token refreshed within FORCED_REFRESH_REUSE_MS.
  c('forced, token refreshed 1 ms ago', { current: token(3600_000), shared: lease(null, null, -1) }, FORCED, 'serve'),
  c('forced, token refreshed 1 ms inside the reuse window', { current: token(3600_000), shared: lease(null, null, -(FORCED_REFRESH_REUSE_MS - 1)) }, FORCED, 'serve'),
  c('forced, token refreshed exactly FORCED_REFRESH_REUSE_MS ago', { current: token(3600_000), shared: lease(null, null, -FORCED_REFRESH_REUSE_MS) }, FORCED, 'claim, else wait'),
  c('forced, token never written by a refresh', { current: token(3600_000), shared: lease(null, null) }, FORCED, 'claim, else wait'),
  c('forced, old token while another refreshes', { current: token(3600_000), shared: lease(OTHER, 10_000, -FORCED_REFRESH_REUSE_MS) }, FORCED, 'wait'),
  c('forced, just-refreshed token while another holds the lease', { current: token(3600_000), shared: lease(OTHER, 10_000, -1) }, FORCED, 'serve'),
  c('forced, no servable token, another refreshing', { current: undefined, shared: lease(OTHER, 10_000, -1) }, FORCED, 'wait'),
  // Proving: never served a token from before the request.
  c('proving, token refreshed 1 ms ago', { current: token(3600_000), shared: lease(null, null, -1) }, PROVING, 'claim, else wait'),
  c('proving, token refreshed 1 ms ago, another refreshing', { current: token(3600_000), shared: lease(OTHER, 10_000, -1) }, PROVING, 'wait'),
];

describe('leaseDecision', () => {
  it.each(CASES)('$name → $expected', ({ source, options, expected }) => {
    expect(described(leaseDecision(source, NOW, options))).toBe(expected);
  });

  it('serves (now, or if a claim is lost) the very token it was given', () => {
    const current = token(3600_000);
    expect(leaseDecision({ current, shared: undefined }, NOW, PLAIN)).toEqual({ action: 'serve', token: current });
    const closeToExpiry = token(REFRESH_AHEAD_MS - 1);
    const decision = leaseDecision({ current: closeToExpiry, shared: undefined }, NOW, PLAIN);
    expect(decision.action === 'claim' && decision.servedIfLost).toBe(closeToExpiry);
  });
});
