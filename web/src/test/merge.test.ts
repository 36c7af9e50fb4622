import { describe, expect, it } from 'vitest';
import { gpuFromApi, gpuLabel, isStale, mergeRecord, recordTimeMs } from '../lib/merge';
import type { TelemetryRecord } from '../lib/types';

const T0 = Date.UTC(2026, 10, 26, 22, 0, 0);
const ns = (ms: number) => ms * 1e6;
const rec = (ms: number, metrics: Record<string, number>, extra: Partial<TelemetryRecord> = {}): TelemetryRecord => ({
  gpu_key: 'GPU-1',
  hostname: 'node-1',
  uuid: 'GPU-1',
  model: 'NVIDIA H100 80GB HBM3',
  gpu_index: 0,
  device: 'nvidia0',
  timestamp_ns: ns(ms),
  metrics,
  ...extra,
});

describe('merging per-metric records (DCGM: one metric per record)', () => {
  it('builds the latest value of each metric, each with its own timestamp', () => {
    let g = mergeRecord(undefined, rec(T0, { temperature: 45 }));
    g = mergeRecord(g, rec(T0, { utilization: 87 }));
    g = mergeRecord(g, rec(T0 + 1000, { power_draw: 612.25 }));
    g = mergeRecord(g, rec(T0 + 1000, { temperature: 46 }));
    expect(g.metrics).toEqual({
      temperature: { v: 46, t: T0 + 1000 },
      utilization: { v: 87, t: T0 },
      power_draw: { v: 612.25, t: T0 + 1000 },
    });
    expect(g.lastSeen).toBe(T0 + 1000);
    expect(g.hostname).toBe('node-1');
    expect(g.index).toBe(0);
  });

  it('never rolls a metric back when an older record arrives late', () => {
    let g = mergeRecord(undefined, rec(T0 + 2000, { temperature: 50 }));
    g = mergeRecord(g, rec(T0 + 1000, { temperature: 40, utilization: 10 }));
    expect(g.metrics.temperature).toEqual({ v: 50, t: T0 + 2000 });
    expect(g.metrics.utilization).toEqual({ v: 10, t: T0 + 1000 });
    expect(g.lastSeen).toBe(T0 + 2000);
  });

  it('returns the same object when a record changes nothing (no redraw)', () => {
    const g = mergeRecord(undefined, rec(T0, { temperature: 45 }));
    expect(mergeRecord(g, rec(T0, { temperature: 45 }))).toBe(g);
  });

  it('ignores non-numeric values and keeps labels and identity from later records', () => {
    let g = mergeRecord(undefined, rec(T0, { temperature: 45 }, { hostname: '', labels: { namespace: 'ml' } }));
    g = mergeRecord(g, rec(T0 + 1, { bad: Number.NaN }, { labels: { pod: 'job-7' } }));
    expect(g.metrics.bad).toBeUndefined();
    expect(g.labels).toEqual({ namespace: 'ml', pod: 'job-7' });
    expect(g.hostname).toBe('node-1');
  });

  it('reads RFC 3339 when there is no ns timestamp', () => {
    expect(recordTimeMs(undefined, '2026-11-26T22:00:00Z')).toBe(T0);
    expect(recordTimeMs(ns(T0), 'garbage')).toBe(T0);
    expect(recordTimeMs(undefined, undefined)).toBeNaN();
  });

  it('starts from the REST list: metrics stamped with last_seen, stale flag kept until new data', () => {
    const g = gpuFromApi({ key: 'k', hostname: 'h', index: 2, last_seen_ns: ns(T0), stale: true, metrics: { temperature: 61 }, labels: { pod: 'p' } });
    expect(g.metrics.temperature).toEqual({ v: 61, t: T0 });
    expect(isStale(g, T0 + 1000)).toBe(true);
    const fresh = mergeRecord(g, { gpu_key: 'k', timestamp_ns: ns(T0 + 1000), metrics: { utilization: 5 } });
    expect(isStale(fresh, T0 + 2000)).toBe(false);
    expect(isStale(fresh, T0 + 1000 + 31_000)).toBe(true);
    expect(gpuLabel(fresh)).toBe('h · GPU 2');
  });
});
