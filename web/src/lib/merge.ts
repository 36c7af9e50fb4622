// Per-GPU state built from records. DCGM exports carry one metric per record (one row per field),
// so a GPU's view is the latest value of each metric with its own timestamp, merged record by record.
import type { ApiGpu, Labels, TelemetryRecord } from './types';

export interface MetricValue {
  v: number;
  /** ms since epoch of the record that carried it */
  t: number;
}

export interface GpuState {
  key: string;
  hostname: string;
  uuid: string;
  model: string;
  index: number | null;
  device: string;
  labels: Labels;
  metrics: Record<string, MetricValue>;
  /** newest record time, ms since epoch (0 = never) */
  lastSeen: number;
  /** the gateway's stale flag from the last REST load (live data refreshes lastSeen instead) */
  staleFromApi: boolean;
}

/** ns since epoch (JSON number) or RFC 3339 -> ms since epoch; NaN when neither is usable. */
export function recordTimeMs(tsNs: number | undefined, ts: string | undefined): number {
  if (typeof tsNs === 'number' && Number.isFinite(tsNs) && tsNs > 0) return tsNs / 1e6;
  if (ts) {
    const t = Date.parse(ts);
    if (Number.isFinite(t)) return t;
  }
  return NaN;
}

export function emptyGpu(key: string): GpuState {
  return { key, hostname: '', uuid: '', model: '', index: null, device: '', labels: {}, metrics: {}, lastSeen: 0, staleFromApi: false };
}

/** State from the REST list: every reported metric stamped with last_seen. */
export function gpuFromApi(g: ApiGpu): GpuState {
  const t = recordTimeMs(g.last_seen_ns, g.last_seen);
  const stamp = Number.isFinite(t) ? t : 0;
  const metrics: Record<string, MetricValue> = {};
  for (const [name, v] of Object.entries(g.metrics ?? {})) {
    if (typeof v === 'number' && Number.isFinite(v)) metrics[name] = { v, t: stamp };
  }
  return {
    key: g.key,
    hostname: g.hostname ?? '',
    uuid: g.uuid ?? '',
    model: g.model ?? '',
    index: typeof g.index === 'number' ? g.index : null,
    device: g.device ?? '',
    labels: { ...(g.labels ?? {}) },
    metrics,
    lastSeen: stamp,
    staleFromApi: !!g.stale,
  };
}

/**
 * Merges one record into a GPU's state and returns the new state (or `prev` itself when the record
 * changed nothing). A metric keeps the value with the newest timestamp, so records arriving out of
 * order never roll a value back; identity fields and labels are filled from the record.
 */
export function mergeRecord(prev: GpuState | undefined, rec: TelemetryRecord): GpuState {
  const base = prev ?? emptyGpu(rec.gpu_key);
  let t = recordTimeMs(rec.timestamp_ns, rec.timestamp);
  if (!Number.isFinite(t)) t = Date.now();
  let metrics = base.metrics;
  let changed = !prev;
  for (const [name, v] of Object.entries(rec.metrics ?? {})) {
    if (typeof v !== 'number' || !Number.isFinite(v)) continue;
    const old = metrics[name];
    if (old && old.t > t) continue;
    if (old && old.t === t && old.v === v) continue;
    if (metrics === base.metrics) metrics = { ...metrics };
    metrics[name] = { v, t };
    changed = true;
  }
  let labels = base.labels;
  if (rec.labels) {
    for (const [k, v] of Object.entries(rec.labels)) {
      if (labels[k] !== v) {
        if (labels === base.labels) labels = { ...labels };
        labels[k] = v;
        changed = true;
      }
    }
  }
  const hostname = rec.hostname || base.hostname;
  const uuid = rec.uuid || base.uuid;
  const model = rec.model || base.model;
  const device = rec.device || base.device;
  const index = typeof rec.gpu_index === 'number' ? rec.gpu_index : base.index;
  const lastSeen = Math.max(base.lastSeen, t);
  if (
    hostname !== base.hostname ||
    uuid !== base.uuid ||
    model !== base.model ||
    device !== base.device ||
    index !== base.index ||
    lastSeen !== base.lastSeen
  )
    changed = true;
  if (!changed) return base;
  return { ...base, hostname, uuid, model, device, index, labels, metrics, lastSeen, staleFromApi: lastSeen > base.lastSeen ? false : base.staleFromApi };
}

/** Value of a metric, or undefined when the GPU does not report it. */
export function metricValue(g: GpuState, id: string): number | undefined {
  return g.metrics[id]?.v;
}

// the gateway's default --stale-after
export const STALE_AFTER_MS = 30_000;

/** Stale when nothing arrived for STALE_AFTER_MS, or the gateway said so and nothing arrived since. */
export function isStale(g: GpuState, nowMs: number, staleAfterMs = STALE_AFTER_MS): boolean {
  if (g.lastSeen === 0) return true;
  if (nowMs - g.lastSeen > staleAfterMs) return true;
  return g.staleFromApi;
}

/** "node-1 · GPU 0" for legends and titles. */
export function gpuLabel(g: Pick<GpuState, 'hostname' | 'index' | 'key'>): string {
  if (g.hostname && g.index !== null) return `${g.hostname} · GPU ${g.index}`;
  return g.hostname ? `${g.hostname} · ${g.key}` : g.key;
}
