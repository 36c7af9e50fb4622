// Reconnect delays: exponential, capped, with "equal jitter" (half fixed, half random) so that
// many dashboards reconnecting after a gateway restart spread out, yet none retries at once.

export interface BackoffOptions {
  baseMs: number;
  capMs: number;
  factor: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 500, capMs: 30_000, factor: 2 };

/** The ceiling for attempt n (0-based): min(cap, base * factor^n). */
export function backoffCeiling(attempt: number, opts: BackoffOptions = DEFAULT_BACKOFF): number {
  const n = Math.max(0, Math.floor(attempt));
  const raw = opts.baseMs * Math.pow(opts.factor, Math.min(n, 64));
  return Math.min(opts.capMs, raw);
}

/** The delay before reconnect attempt n: uniformly in [ceiling/2, ceiling]. */
export function backoffDelay(attempt: number, opts: BackoffOptions = DEFAULT_BACKOFF, rand: () => number = Math.random): number {
  const c = backoffCeiling(attempt, opts);
  const r = Math.min(1, Math.max(0, rand()));
  return Math.round(c / 2 + (c / 2) * r);
}
