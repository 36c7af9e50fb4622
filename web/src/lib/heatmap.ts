// Heat map buckets: a value is placed in one of BUCKETS steps of its metric's scale; a GPU that
// does not report the metric and a stale GPU get their own colours (never the colour of zero).
import type { AlertMark } from './alerts';
import { MEMORY_CRIT_PCT, MEMORY_WARN_PCT, memoryPercent } from './metrics';
import type { GpuState } from './merge';
import type { AlertSeverity } from './types';

export interface HeatMetric {
  id: string;
  label: string;
  unit: string;
  /** bucket upper bounds (exclusive), ascending; values >= the last bound go to the last bucket */
  bounds: number[];
  palette: 'heat' | 'load';
  value: (g: GpuState) => number | undefined;
}

const m = (g: GpuState, id: string) => g.metrics[id]?.v;

export const HEAT_METRICS: HeatMetric[] = [
  { id: 'temperature', label: 'Temperature', unit: '°C', bounds: [40, 55, 65, 75, 85], palette: 'heat', value: (g) => m(g, 'temperature') },
  { id: 'utilization', label: 'Utilization', unit: '%', bounds: [10, 30, 50, 70, 90], palette: 'load', value: (g) => m(g, 'utilization') },
  {
    id: 'memory_pct',
    label: 'Memory used',
    unit: '%',
    bounds: [25, 50, 75, MEMORY_WARN_PCT, MEMORY_CRIT_PCT],
    palette: 'heat',
    value: (g) => memoryPercent(m(g, 'memory_used'), m(g, 'memory_free')) ?? undefined,
  },
  { id: 'power_draw', label: 'Power', unit: 'W', bounds: [100, 250, 400, 550, 650], palette: 'heat', value: (g) => m(g, 'power_draw') },
  { id: 'sm_clock', label: 'SM clock', unit: 'MHz', bounds: [500, 1000, 1400, 1700, 1900], palette: 'load', value: (g) => m(g, 'sm_clock') },
];

export function heatMetric(id: string): HeatMetric {
  return HEAT_METRICS.find((h) => h.id === id) ?? HEAT_METRICS[0];
}

export const BUCKETS = 6;

/** Bucket 0..BUCKETS-1 of a value; -1 = not reported. */
export function bucketOf(bounds: number[], v: number | null | undefined): number {
  if (v === null || v === undefined || !Number.isFinite(v)) return -1;
  let b = 0;
  while (b < bounds.length && v >= bounds[b]) b++;
  return Math.min(b, BUCKETS - 1);
}

// Palettes chosen to stay distinguishable for common colour-vision deficiencies and to read on
// both themes: 'heat' goes cool -> hot, 'load' is a viridis-like ramp.
export const PALETTES: Record<HeatMetric['palette'], string[]> = {
  heat: ['#2c7bb6', '#4aa3c8', '#8fd1a8', '#fee08b', '#fc8d59', '#d7301f'],
  load: ['#440154', '#414487', '#2a788e', '#22a884', '#7ad151', '#fde725'],
};

export const MISSING_COLOR = 'transparent';
export const STALE_COLOR = '#6b7280';

export type CellKind = 'value' | 'missing' | 'stale';

export interface Cell {
  kind: CellKind;
  bucket: number;
  color: string;
}

/** The colour of a GPU's cell for a heat metric. */
export function cellFor(hm: HeatMetric, g: GpuState, stale: boolean): Cell {
  if (stale) return { kind: 'stale', bucket: -1, color: STALE_COLOR };
  const b = bucketOf(hm.bounds, hm.value(g));
  if (b < 0) return { kind: 'missing', bucket: -1, color: MISSING_COLOR };
  return { kind: 'value', bucket: b, color: PALETTES[hm.palette][b] };
}

/** Legend entries: "< 40", "40–55", ..., "≥ 85". */
export function legendFor(hm: HeatMetric): { label: string; color: string }[] {
  const pal = PALETTES[hm.palette];
  const out: { label: string; color: string }[] = [];
  for (let i = 0; i < BUCKETS; i++) {
    const lo = i === 0 ? null : hm.bounds[i - 1];
    const hi = i < hm.bounds.length ? hm.bounds[i] : null;
    const label = lo === null ? `< ${hi}` : hi === null ? `≥ ${lo}` : `${lo}–${hi}`;
    out.push({ label, color: pal[i] });
  }
  return out;
}

/** Text colour that stays readable on a bucket colour. */
export function textOn(color: string): string {
  const hex = color.replace('#', '');
  if (hex.length !== 6) return 'inherit';
  const r = parseInt(hex.slice(0, 2), 16), g = parseInt(hex.slice(2, 4), 16), b = parseInt(hex.slice(4, 6), 16);
  return 0.299 * r + 0.587 * g + 0.114 * b > 150 ? '#111827' : '#f9fafb';
}

/** Colours of the alert dot on a cell (the badges' severity colours: red-600, amber-400, sky-600). */
export const ALERT_DOT_COLORS: Record<AlertSeverity, string> = { critical: '#dc2626', warning: '#fbbf24', info: '#0284c7' };

export interface CellAlert {
  severity: AlertSeverity;
  color: string;
  /** for the cell's label: "2 alerts firing (critical): hot, warm" */
  text: string;
}

/** The alert dot of a GPU's cell: only while something fires on it (pending alone shows nothing). */
export function cellAlert(mark: AlertMark | undefined): CellAlert | null {
  if (!mark || mark.firing <= 0) return null;
  const severity: AlertSeverity = mark.severity === 'critical' || mark.severity === 'warning' ? mark.severity : 'info';
  const n = mark.firing;
  return { severity, color: ALERT_DOT_COLORS[severity], text: `${n} alert${n === 1 ? '' : 's'} firing (${severity}): ${mark.rules.join(', ')}` };
}
