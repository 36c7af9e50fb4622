import { describe, expect, it } from 'vitest';
import { backoffCeiling, backoffDelay } from '../lib/backoff';

const opts = { baseMs: 500, capMs: 30_000, factor: 2 };

describe('reconnect backoff', () => {
  it('grows exponentially and is capped', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 7, 20, 1000].map((n) => backoffCeiling(n, opts))).toEqual([500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000, 30000]);
  });
  it('jitters within [ceiling/2, ceiling]', () => {
    expect(backoffDelay(3, opts, () => 0)).toBe(2000);
    expect(backoffDelay(3, opts, () => 1)).toBe(4000);
    expect(backoffDelay(3, opts, () => 0.5)).toBe(3000);
    expect(backoffDelay(50, opts, () => 0.999)).toBeLessThanOrEqual(30000);
    for (let i = 0; i < 100; i++) {
      const d = backoffDelay(4, opts);
      expect(d).toBeGreaterThanOrEqual(4000);
      expect(d).toBeLessThanOrEqual(8000);
    }
  });
});
