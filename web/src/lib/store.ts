// The fleet store: every GPU's merged state, loaded once by REST and then kept current by the
// WebSocket. Listeners are notified at most once per animation frame, however fast records come.
import { gpuFromApi, mergeRecord, type GpuState } from './merge';
import type { ApiGpu, ApiHost, TelemetryRecord } from './types';

export type LoadState = 'loading' | 'ready' | 'error';

export interface FleetSnapshot {
  version: number;
  /** sorted by hostname (natural order), then index, then key */
  gpus: GpuState[];
  byKey: ReadonlyMap<string, GpuState>;
  hosts: string[];
  load: LoadState;
  error: string | null;
  partial: boolean;
  missing: string[];
}

export interface UtilSample {
  t: number;
  v: number;
}

const collator = new Intl.Collator('en', { numeric: true, sensitivity: 'base' });

export function compareGpus(a: GpuState, b: GpuState): number {
  return (
    collator.compare(a.hostname, b.hostname) ||
    (a.index ?? Number.MAX_SAFE_INTEGER) - (b.index ?? Number.MAX_SAFE_INTEGER) ||
    collator.compare(a.key, b.key)
  );
}

export const UTIL_HISTORY_MS = 15 * 60_000;
const UTIL_HISTORY_MAX = 600;

type Scheduler = (fn: () => void) => void;

const defaultScheduler: Scheduler =
  typeof requestAnimationFrame === 'function' ? (fn) => void requestAnimationFrame(fn) : (fn) => void setTimeout(fn, 16);

export class FleetStore {
  private gpus = new Map<string, GpuState>();
  private apiHosts: ApiHost[] = [];
  private util = new Map<string, UtilSample[]>();
  private listeners = new Set<() => void>();
  private scheduled = false;
  private dirty = false;
  private snap: FleetSnapshot;
  private readonly schedule: Scheduler;
  private meta = { load: 'loading' as LoadState, error: null as string | null, partial: false, missing: [] as string[] };

  private lastNotify = 0;
  private readonly minIntervalMs: number;

  /**
   * `minIntervalMs` caps how often views redraw: records of a large fleet arrive spread over each
   * second, and redrawing 250 rows on every animation frame would keep a core busy.
   */
  constructor(schedule: Scheduler = defaultScheduler, minIntervalMs = 500) {
    this.schedule = schedule;
    this.minIntervalMs = minIntervalMs;
    this.snap = this.build(0);
  }

  subscribe = (fn: () => void): (() => void) => {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  };

  getSnapshot = (): FleetSnapshot => {
    if (this.dirty) {
      this.dirty = false;
      this.snap = this.build(this.snap.version + 1);
    }
    return this.snap;
  };

  /** The REST list replaces the set of GPUs; per metric, whichever value is newer wins. */
  load(list: ApiGpu[], hosts: ApiHost[] | null, partial = false, missing: string[] = []): void {
    const next = new Map<string, GpuState>();
    for (const g of list) {
      if (!g || typeof g.key !== 'string') continue;
      const fromApi = gpuFromApi(g);
      const cur = this.gpus.get(g.key);
      next.set(g.key, cur ? mergeNewer(fromApi, cur) : fromApi);
      const u = fromApi.metrics.utilization;
      if (u && u.t) this.pushUtil(g.key, u.t, u.v);
    }
    this.gpus = next;
    if (hosts) this.apiHosts = hosts;
    this.meta = { load: 'ready', error: null, partial, missing };
    this.changed();
  }

  setError(message: string): void {
    this.meta = { ...this.meta, load: this.gpus.size ? 'ready' : 'error', error: message };
    this.changed();
  }

  applyRecord(rec: TelemetryRecord): void {
    const prev = this.gpus.get(rec.gpu_key);
    const next = mergeRecord(prev, rec);
    if (next === prev) return;
    this.gpus.set(rec.gpu_key, next);
    const u = rec.metrics?.utilization;
    if (typeof u === 'number' && Number.isFinite(u)) this.pushUtil(rec.gpu_key, next.metrics.utilization?.t ?? Date.now(), u);
    this.changed();
  }

  get(key: string): GpuState | undefined {
    return this.gpus.get(key);
  }

  /** Recent utilization samples of a GPU (for "allocated but idle"). */
  utilHistory(key: string): readonly UtilSample[] {
    return this.util.get(key) ?? [];
  }

  private pushUtil(key: string, t: number, v: number): void {
    let h = this.util.get(key);
    if (!h) this.util.set(key, (h = []));
    if (h.length && h[h.length - 1].t >= t) return;
    h.push({ t, v });
    const from = t - UTIL_HISTORY_MS;
    let i = 0;
    while (i < h.length && h[i].t < from) i++;
    if (h.length - i > UTIL_HISTORY_MAX) i = h.length - UTIL_HISTORY_MAX;
    if (i) h.splice(0, i);
  }

  private changed(): void {
    this.dirty = true;
    if (this.scheduled) return;
    this.scheduled = true;
    const fire = () => {
      this.scheduled = false;
      this.lastNotify = Date.now();
      for (const fn of this.listeners) fn();
    };
    const wait = this.lastNotify + this.minIntervalMs - Date.now();
    if (wait > 0) setTimeout(() => this.schedule(fire), wait);
    else this.schedule(fire);
  }

  private build(version: number): FleetSnapshot {
    const gpus = [...this.gpus.values()].sort(compareGpus);
    const hostSet = new Set<string>();
    for (const h of this.apiHosts) hostSet.add(h.hostname);
    for (const g of gpus) if (g.hostname) hostSet.add(g.hostname);
    const hosts = [...hostSet].sort(collator.compare);
    return { version, gpus, byKey: new Map(this.gpus), hosts, ...this.meta };
  }
}

/** a's identity with, per metric, the newer of a's and b's values. */
function mergeNewer(a: GpuState, b: GpuState): GpuState {
  const metrics = { ...a.metrics };
  for (const [k, v] of Object.entries(b.metrics)) if (!metrics[k] || metrics[k].t < v.t) metrics[k] = v;
  const lastSeen = Math.max(a.lastSeen, b.lastSeen);
  return { ...a, labels: { ...b.labels, ...a.labels }, metrics, lastSeen, staleFromApi: a.staleFromApi && b.lastSeen <= a.lastSeen };
}
