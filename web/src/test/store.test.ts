import { describe, expect, it } from 'vitest';
import { Series } from '../lib/series';
import { FleetStore } from '../lib/store';

const manual = () => {
  const queue: (() => void)[] = [];
  return { schedule: (fn: () => void) => void queue.push(fn), flush: () => queue.splice(0).forEach((f) => f()), queue };
};

describe('FleetStore', () => {
  it('notifies once per frame however many records arrive, and sorts hosts naturally', () => {
    const m = manual();
    const store = new FleetStore(m.schedule, 0);
    let calls = 0;
    store.subscribe(() => calls++);
    store.load(
      [
        { key: 'b', hostname: 'node-10', index: 0, metrics: { temperature: 40 }, last_seen_ns: 1e15 },
        { key: 'a', hostname: 'node-2', index: 1, metrics: {}, last_seen_ns: 1e15 },
        { key: 'c', hostname: 'node-2', index: 0, metrics: {}, last_seen_ns: 1e15 },
      ],
      null,
    );
    for (let i = 0; i < 100; i++) store.applyRecord({ gpu_key: 'b', timestamp_ns: 2e15 + i * 1e6, metrics: { temperature: 40 + i } });
    expect(m.queue.length).toBe(1);
    m.flush();
    expect(calls).toBe(1);
    const snap = store.getSnapshot();
    expect(snap.gpus.map((g) => g.key)).toEqual(['c', 'a', 'b']);
    expect(snap.hosts).toEqual(['node-2', 'node-10']);
    expect(snap.byKey.get('b')!.metrics.temperature.v).toBe(139);
    expect(store.getSnapshot()).toBe(snap); // stable until something changes
  });

  it('a reload keeps live values that are newer than the REST answer', () => {
    const m = manual();
    const store = new FleetStore(m.schedule, 0);
    store.load([{ key: 'k', metrics: { temperature: 40 }, last_seen_ns: 1e15 }], null);
    store.applyRecord({ gpu_key: 'k', timestamp_ns: 3e15, metrics: { temperature: 70 } });
    store.load([{ key: 'k', metrics: { temperature: 50, utilization: 3 }, last_seen_ns: 2e15 }], null);
    const g = store.getSnapshot().byKey.get('k')!;
    expect(g.metrics.temperature.v).toBe(70);
    expect(g.metrics.utilization.v).toBe(3);
  });

  it('records the utilization history used by the idle view', () => {
    const store = new FleetStore(manual().schedule, 0);
    for (let i = 0; i < 5; i++) store.applyRecord({ gpu_key: 'k', timestamp_ns: (1e6 + i * 1000) * 1e6, metrics: { utilization: i } });
    expect(store.utilHistory('k').map((s) => s.v)).toEqual([0, 1, 2, 3, 4]);
  });
});

describe('Series (chart buffer)', () => {
  it('loads aggregate points and appends live points into step buckets', () => {
    const s = new Series(60_000, 2000);
    s.loadAggregate([
      { t_ns: 1_000_000 * 1e6, avg: 10, min: 9, max: 11 },
      { t_ns: 1_002_000 * 1e6, last: 12 },
      { t_ns: 1_004_000 * 1e6 }, // no value: skipped
    ]);
    expect(s.points.map((p) => p.v)).toEqual([10, 12]);
    expect(s.append(1_004_100, 20)).toBe(true);
    expect(s.append(1_005_900, 30)).toBe(true); // same 2 s bucket: replaces, widens min/max
    expect(s.points[s.points.length - 1]).toEqual({ t: 1_005_900, v: 30, min: 20, max: 30 });
    expect(s.append(1_000_500, 1)).toBe(false); // older than the last point
    expect(s.length).toBe(3);
  });

  it('stays bounded: drops points older than the window and caps the count', () => {
    const s = new Series(10_000, 1000, 5);
    for (let t = 0; t < 100_000; t += 1000) s.append(t, t);
    expect(s.length).toBe(5);
    expect(s.points[0].t).toBe(95_000);
    const w = new Series(10_000, 1000);
    for (let t = 0; t < 100_000; t += 1000) w.append(t, t);
    expect(w.points[0].t).toBeGreaterThanOrEqual(99_000 - 10_000);
    expect(w.length).toBeLessThanOrEqual(11);
  });
});
