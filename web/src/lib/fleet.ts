// Fleet-level derivations: severity of a GPU, filters, totals, and the "allocated but idle" view.
import { memoryPercent, severityOf, worstSeverity, severityAtLeast, type Severity } from './metrics';
import { isStale, metricValue, type GpuState } from './merge';
import type { UtilSample } from './store';

/** The worst severity among a GPU's thresholded metrics (temperature, memory %, fan). */
export function gpuSeverity(g: GpuState): Severity {
  return worstSeverity([
    severityOf('temperature', metricValue(g, 'temperature')),
    severityOf('memory_pct', memoryPercent(metricValue(g, 'memory_used'), metricValue(g, 'memory_free'))),
    severityOf('fan_speed', metricValue(g, 'fan_speed')),
  ]);
}

export interface FleetFilter {
  text: string;
  host: string; // '' = all
  model: string; // '' = all
  stale: 'all' | 'stale' | 'fresh';
  severity: 'all' | 'warn' | 'crit';
  /** threshold filter: metric op value; metric '' = off */
  metric: string;
  op: 'ge' | 'le';
  value: string;
}

export const EMPTY_FILTER: FleetFilter = { text: '', host: '', model: '', stale: 'all', severity: 'all', metric: '', op: 'ge', value: '' };

export function isFilterActive(f: FleetFilter): boolean {
  return !!(f.text.trim() || f.host || f.model || f.stale !== 'all' || f.severity !== 'all' || (f.metric && f.value.trim() !== ''));
}

/** Whether a GPU passes the filter. A threshold on a metric the GPU does not report excludes it. */
export function matchesFilter(g: GpuState, f: FleetFilter, nowMs: number): boolean {
  if (f.host && g.hostname !== f.host) return false;
  if (f.model && g.model !== f.model) return false;
  if (f.stale !== 'all') {
    const s = isStale(g, nowMs);
    if ((f.stale === 'stale') !== s) return false;
  }
  if (f.severity !== 'all' && !severityAtLeast(gpuSeverity(g), f.severity)) return false;
  if (f.metric && f.value.trim() !== '') {
    const limit = Number(f.value);
    if (Number.isFinite(limit)) {
      const v = f.metric === 'memory_pct' ? memoryPercent(metricValue(g, 'memory_used'), metricValue(g, 'memory_free')) : metricValue(g, f.metric);
      if (v === undefined || v === null) return false;
      if (f.op === 'ge' ? v < limit : v > limit) return false;
    }
  }
  const text = f.text.trim().toLowerCase();
  if (text) {
    const hay = [g.key, g.hostname, g.uuid, g.model, g.device, g.index === null ? '' : `gpu ${g.index}`, ...Object.values(g.labels)]
      .join(' ')
      .toLowerCase();
    for (const word of text.split(/\s+/)) if (!hay.includes(word)) return false;
  }
  return true;
}

export interface FleetTotals {
  gpus: number;
  hosts: number;
  avgUtilization: number | null;
  totalPower: number | null;
  stale: number;
  warn: number;
  crit: number;
}

export function fleetTotals(gpus: GpuState[], nowMs: number): FleetTotals {
  let uSum = 0, uN = 0, pSum = 0, pN = 0, stale = 0, warn = 0, crit = 0;
  const hosts = new Set<string>();
  for (const g of gpus) {
    hosts.add(g.hostname || g.key);
    const st = isStale(g, nowMs);
    if (st) stale++;
    else {
      const u = metricValue(g, 'utilization');
      if (u !== undefined) (uSum += u), uN++;
      const p = metricValue(g, 'power_draw');
      if (p !== undefined) (pSum += p), pN++;
    }
    const sev = gpuSeverity(g);
    if (sev === 'crit') crit++;
    else if (sev === 'warn') warn++;
  }
  return { gpus: gpus.length, hosts: hosts.size, avgUtilization: uN ? uSum / uN : null, totalPower: pN ? pSum : null, stale, warn, crit };
}

export interface IdleGpu {
  gpu: GpuState;
  namespace: string;
  pod: string;
  avgUtil: number;
  maxUtil: number;
  samples: number;
}

export interface NamespaceUsage {
  namespace: string;
  allocated: number;
  idle: IdleGpu[];
}

/**
 * GPUs whose pod/namespace labels say they are allocated while utilization stayed below
 * `threshold` % over the last `windowMs` (every sample, including the latest), per namespace.
 * GPUs that do not report utilization, or are stale, are never called idle.
 */
export function allocatedIdle(
  gpus: GpuState[],
  history: (key: string) => readonly UtilSample[],
  opts: { threshold: number; windowMs: number; nowMs: number },
): NamespaceUsage[] {
  const byNs = new Map<string, NamespaceUsage>();
  for (const g of gpus) {
    const ns = g.labels.namespace || g.labels.exported_namespace || '';
    const pod = g.labels.pod || g.labels.exported_pod || '';
    if (!ns && !pod) continue;
    const nsKey = ns || '(no namespace)';
    let u = byNs.get(nsKey);
    if (!u) byNs.set(nsKey, (u = { namespace: nsKey, allocated: 0, idle: [] }));
    u.allocated++;
    if (isStale(g, opts.nowMs)) continue;
    const latest = metricValue(g, 'utilization');
    if (latest === undefined) continue;
    const from = opts.nowMs - opts.windowMs;
    const samples = history(g.key).filter((s) => s.t >= from);
    const vals = samples.length ? samples.map((s) => s.v) : [latest];
    const max = Math.max(latest, ...vals);
    if (max >= opts.threshold) continue;
    const avg = vals.reduce((a, b) => a + b, 0) / vals.length;
    u.idle.push({ gpu: g, namespace: nsKey, pod, avgUtil: avg, maxUtil: max, samples: vals.length });
  }
  return [...byNs.values()].sort((a, b) => b.idle.length - a.idle.length || a.namespace.localeCompare(b.namespace));
}
