// The metric catalogue: canonical names (the pipeline's name table), units, and severity thresholds.
// A GPU reports a subset of these (vGPU, MIG and nvidia-smi exports often lack some): a metric
// missing from a GPU is "not reported", never zero.

export type Unit = '°C' | '%' | 'MiB' | 'W' | 'MHz' | '';
export type Severity = 'ok' | 'warn' | 'crit' | 'none';

export interface MetricDef {
  id: string;
  label: string;
  short: string;
  unit: Unit;
  decimals: number;
  /** Natural axis range when it is known (percentages). */
  domain?: [number, number];
  /** warn/crit thresholds on the raw value (higher is worse). */
  warn?: number;
  crit?: number;
}

export const METRICS: MetricDef[] = [
  { id: 'temperature', label: 'Temperature', short: 'Temp', unit: '°C', decimals: 0, warn: 75, crit: 85 },
  { id: 'utilization', label: 'GPU utilization', short: 'Util', unit: '%', decimals: 0, domain: [0, 100] },
  { id: 'memory_used', label: 'Memory used', short: 'Mem used', unit: 'MiB', decimals: 0 },
  { id: 'memory_free', label: 'Memory free', short: 'Mem free', unit: 'MiB', decimals: 0 },
  { id: 'power_draw', label: 'Power draw', short: 'Power', unit: 'W', decimals: 0 },
  { id: 'sm_clock', label: 'SM clock', short: 'SM clk', unit: 'MHz', decimals: 0 },
  { id: 'mem_clock', label: 'Memory clock', short: 'Mem clk', unit: 'MHz', decimals: 0 },
  { id: 'memory_utilization', label: 'Memory copy utilization', short: 'Mem util', unit: '%', decimals: 0, domain: [0, 100] },
  { id: 'encoder_utilization', label: 'Encoder utilization', short: 'Enc', unit: '%', decimals: 0, domain: [0, 100] },
  { id: 'decoder_utilization', label: 'Decoder utilization', short: 'Dec', unit: '%', decimals: 0, domain: [0, 100] },
  { id: 'fan_speed', label: 'Fan speed', short: 'Fan', unit: '%', decimals: 0, domain: [0, 100], warn: 90, crit: 98 },
];

const byId = new Map(METRICS.map((m) => [m.id, m]));

/** The definition of a metric; unknown metrics (a column the table does not know) get a plain one. */
export function metricDef(id: string): MetricDef {
  return byId.get(id) ?? { id, label: id.replace(/_/g, ' '), short: id, unit: '', decimals: 2 };
}

/** Metrics the fleet view shows (and subscribes to over the WebSocket). */
export const FLEET_METRICS = ['temperature', 'utilization', 'memory_used', 'memory_free', 'power_draw', 'sm_clock', 'mem_clock'];

/** Memory used as a share of the total (used + free), or null when either is not reported. */
export function memoryPercent(used: number | undefined, free: number | undefined): number | null {
  if (used === undefined || free === undefined) return null;
  const total = used + free;
  if (!(total > 0)) return null;
  return (used / total) * 100;
}

export const MEMORY_WARN_PCT = 90;
export const MEMORY_CRIT_PCT = 98;

/** Severity of a value against a metric's thresholds; metrics without thresholds are 'none'. */
export function severityOf(id: string, value: number | null | undefined): Severity {
  if (value === null || value === undefined || !Number.isFinite(value)) return 'none';
  const def = byId.get(id);
  if (id === 'memory_pct') return value >= MEMORY_CRIT_PCT ? 'crit' : value >= MEMORY_WARN_PCT ? 'warn' : 'ok';
  if (!def || def.warn === undefined) return 'none';
  if (def.crit !== undefined && value >= def.crit) return 'crit';
  if (value >= def.warn) return 'warn';
  return 'ok';
}

const rank: Record<Severity, number> = { none: 0, ok: 1, warn: 2, crit: 3 };

export function worstSeverity(list: Severity[]): Severity {
  let worst: Severity = 'none';
  for (const s of list) if (rank[s] > rank[worst]) worst = s;
  return worst;
}

export function severityAtLeast(s: Severity, min: Severity): boolean {
  return rank[s] >= rank[min];
}
