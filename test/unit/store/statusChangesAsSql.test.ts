import { describe, expect, it } from 'vitest';
import { statusCaseSql } from '../../../src/store/sql/statusCase.js';
import { nextStatus, STATUS_CHANGES } from '../../../src/credentials/index.js';

describe('STATUS_CHANGES as SQL', () => {
  it('writes one WHEN per change and leaves unlisted pairs to ELSE status', () => {
    expect(statusCaseSql('revoked')).toBe("CASE status WHEN 'authorized' THEN 'revoked' ELSE status END");
    expect(statusCaseSql('failed')).toBe("CASE status WHEN 'pending' THEN 'failed' WHEN 'revoked' THEN 'failed' WHEN 'unlinked' THEN 'failed' ELSE status END");
  });

  it('never lets a failure take a working token away, and nothing but an outcome is an event', () => {
    expect(nextStatus('authorized', 'failed')).toBe('authorized');
    expect(Object.keys(STATUS_CHANGES).sort()).toEqual(['failed', 'revoked', 'succeeded', 'unlinked']);
  });
});
