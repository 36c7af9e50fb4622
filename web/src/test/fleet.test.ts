import { describe, expect, it } from 'vitest';
import { allocatedIdle, EMPTY_FILTER, fleetTotals, gpuSeverity, matchesFilter } from '../lib/fleet';
import { emptyGpu, type GpuState } from '../lib/merge';
import { collectorHitRate, counterRate, mqCounter, mqDlq, mqLag, mqReportedRate } from '../lib/pipeline';

const NOW = 10_000_000;
const gpu = (key: string, host: string, metrics: Record<string, number>, extra: Partial<GpuState> = {}): GpuState => ({
  ...emptyGpu(key),
  hostname: host,
  model: 'H100',
  index: 0,
  metrics: Object.fromEntries(Object.entries(metrics).map(([k, v]) => [k, { v, t: NOW - 1000 }])),
  lastSeen: NOW - 1000,
  ...extra,
});

describe('fleet filters and totals', () => {
  const a = gpu('a', 'node-1', { temperature: 90, utilization: 50, power_draw: 300 }, { labels: { namespace: 'ml', pod: 'train' } });
  const b = gpu('b', 'node-2', { temperature: 40, utilization: 10 }, { model: 'A100' });
  const c = gpu('c', 'node-2', { temperature: 40 }, { lastSeen: NOW - 3600_000 });

  it('severity comes from thresholds', () => {
    expect(gpuSeverity(a)).toBe('crit');
    expect(gpuSeverity(b)).toBe('ok');
    expect(gpuSeverity(gpu('m', 'h', { memory_used: 95, memory_free: 5 }))).toBe('warn');
  });

  it('filters by host, model, stale, severity, threshold and text', () => {
    const f = (p: Partial<typeof EMPTY_FILTER>) => [a, b, c].filter((g) => matchesFilter(g, { ...EMPTY_FILTER, ...p }, NOW)).map((g) => g.key);
    expect(f({})).toEqual(['a', 'b', 'c']);
    expect(f({ host: 'node-2' })).toEqual(['b', 'c']);
    expect(f({ model: 'A100' })).toEqual(['b']);
    expect(f({ stale: 'stale' })).toEqual(['c']);
    expect(f({ stale: 'fresh' })).toEqual(['a', 'b']);
    expect(f({ severity: 'warn' })).toEqual(['a']);
    expect(f({ metric: 'utilization', op: 'le', value: '20' })).toEqual(['b']); // c does not report it
    expect(f({ metric: 'temperature', op: 'ge', value: '85' })).toEqual(['a']);
    expect(f({ text: 'ml train' })).toEqual(['a']);
    expect(f({ text: 'NODE-2' })).toEqual(['b', 'c']);
  });

  it('totals skip stale GPUs for averages and count them', () => {
    const t = fleetTotals([a, b, c], NOW);
    expect(t).toMatchObject({ gpus: 3, hosts: 2, avgUtilization: 30, totalPower: 300, stale: 1, crit: 1 });
    expect(fleetTotals([], NOW).avgUtilization).toBeNull();
  });
});

describe('allocated but idle', () => {
  it('lists labelled GPUs whose utilization stayed low, per namespace', () => {
    const idle = gpu('i', 'n1', { utilization: 2 }, { labels: { namespace: 'ml', pod: 'p1' } });
    const busyNow = gpu('j', 'n1', { utilization: 3 }, { labels: { namespace: 'ml', pod: 'p2' } });
    const busy = gpu('k', 'n1', { utilization: 90 }, { labels: { namespace: 'ml', pod: 'p3' } });
    const unlabelled = gpu('u', 'n1', { utilization: 0 });
    const noUtil = gpu('v', 'n1', { temperature: 30 }, { labels: { namespace: 'inf' } });
    const hist: Record<string, { t: number; v: number }[]> = {
      i: [{ t: NOW - 60_000, v: 1 }, { t: NOW - 1000, v: 2 }],
      j: [{ t: NOW - 60_000, v: 80 }, { t: NOW - 1000, v: 3 }], // was busy a minute ago
      k: [],
    };
    const out = allocatedIdle([idle, busyNow, busy, unlabelled, noUtil], (k) => hist[k] ?? [], { threshold: 10, windowMs: 300_000, nowMs: NOW });
    expect(out.map((u) => [u.namespace, u.allocated, u.idle.map((i) => i.gpu.key)])).toEqual([
      ['ml', 3, ['i']],
      ['inf', 1, []],
    ]);
    expect(out[0].idle[0]).toMatchObject({ pod: 'p1', avgUtil: 1.5, maxUtil: 2 });
  });
});

describe('pipeline figures from /stats', () => {
  const mq = {
    total_processed: 1000,
    topics: {
      'gpu-telemetry': { messages: 1000, throughput_msg_per_sec: 42, dlq: 3, groups: { collectors: { lag: 5 }, other: { lag: 7 } } },
      'gpu-telemetry.dlq': { messages: 3, throughput_msg_per_sec: 0 },
    },
  };
  it('reads throughput counter, lag and DLQ', () => {
    expect(mqCounter(mq)).toBe(1000);
    expect(mqCounter({ topics: mq.topics })).toBe(1000);
    expect(mqReportedRate(mq)).toBe(42);
    expect(mqLag(mq)).toBe(12);
    expect(mqDlq(mq)).toBe(3);
    expect(mqDlq({ topics: { t: { messages: 1 }, 't.dlq': { messages: 4 } } })).toBe(4);
    expect(mqLag(null)).toBeNull();
  });
  it('derives rates from counter deltas, not across a restart', () => {
    expect(counterRate(1000, 1600, 3000)).toBe(200);
    expect(counterRate(1000, 10, 3000)).toBeNull();
    expect(counterRate(null, 10, 3000)).toBeNull();
    expect(collectorHitRate({ cache_hit_rate: 0.9 })).toBe(0.9);
    expect(collectorHitRate({ cache_hits: 3, cache_misses: 1 })).toBe(0.75);
  });
});
