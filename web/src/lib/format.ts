// Formatting of values, units, ages and rates. Pure functions (unit tested).
import { metricDef, type Unit } from './metrics';

const nf0 = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const nf1 = new Intl.NumberFormat('en-US', { maximumFractionDigits: 1, minimumFractionDigits: 1 });

/** A number with thousands separators and at most `decimals` decimals. */
export function formatNumber(v: number, decimals = 0): string {
  if (!Number.isFinite(v)) return '–';
  if (decimals === 0) return nf0.format(v);
  return new Intl.NumberFormat('en-US', { maximumFractionDigits: decimals }).format(v);
}

/** A value with its unit: "61 °C", "87 %", "612 W", "1,980 MHz", "40,000 MiB". */
export function formatWithUnit(v: number, unit: Unit, decimals = 0): string {
  const n = formatNumber(v, decimals);
  return unit ? `${n} ${unit}` : n;
}

/** A metric's value with its unit; "not reported" when the GPU does not report it. */
export function formatMetric(id: string, v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return 'not reported';
  const def = metricDef(id);
  if (def.unit === 'MiB') return formatMiB(v);
  return formatWithUnit(v, def.unit, def.decimals);
}

/** MiB as MiB below 10 GiB, GiB (1 decimal) above: "512 MiB", "39.1 GiB". */
export function formatMiB(mib: number): string {
  if (!Number.isFinite(mib)) return '–';
  if (Math.abs(mib) < 10240) return `${nf0.format(mib)} MiB`;
  return `${nf1.format(mib / 1024)} GiB`;
}

/** "39.1 / 79.6 GiB" (both in the unit the total needs). */
export function formatMemory(used: number | undefined, free: number | undefined): string {
  if (used === undefined) return 'not reported';
  if (free === undefined) return formatMiB(used);
  const total = used + free;
  if (total >= 10240) return `${nf1.format(used / 1024)} / ${nf1.format(total / 1024)} GiB`;
  return `${nf0.format(used)} / ${nf0.format(total)} MiB`;
}

/** An age in seconds, short: "now", "12 s", "4 min", "2 h 5 min", "3 d 4 h". */
export function formatAge(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return 'never';
  const s = Math.max(0, seconds);
  if (s < 1) return 'now';
  if (s < 60) return `${Math.floor(s)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 24) return m % 60 ? `${h} h ${m % 60} min` : `${h} h`;
  const d = Math.floor(h / 24);
  return h % 24 ? `${d} d ${h % 24} h` : `${d} d`;
}

/** "3 s ago" / "just now" for a timestamp in ms against `now`. */
export function formatAgo(tMs: number | null | undefined, nowMs: number): string {
  if (tMs === null || tMs === undefined || !Number.isFinite(tMs)) return 'never';
  const age = formatAge((nowMs - tMs) / 1000);
  return age === 'now' ? 'just now' : `${age} ago`;
}

/** Uptime: "3 d 4 h", "12 min". */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '–';
  return formatAge(seconds) === 'now' ? '0 s' : formatAge(seconds);
}

/** A rate per second: "0/s", "12.5/s", "1.2k/s", "3.4M/s". */
export function formatRate(perSec: number | null | undefined): string {
  if (perSec === null || perSec === undefined || !Number.isFinite(perSec)) return '–';
  const v = Math.max(0, perSec);
  if (v >= 1e6) return `${(v / 1e6).toFixed(1)}M/s`;
  if (v >= 1e3) return `${(v / 1e3).toFixed(1)}k/s`;
  if (v >= 100 || v === 0) return `${Math.round(v)}/s`;
  return `${v.toFixed(1)}/s`;
}

/** A ratio 0..1 as a percentage: "93.4 %". */
export function formatRatio(r: number | null | undefined): string {
  if (r === null || r === undefined || !Number.isFinite(r)) return '–';
  return `${(r * 100).toFixed(1)} %`;
}

/** Clock time of a chart tick: "14:05:09" for short windows, "14:05" for long ones. */
export function formatClock(tMs: number, withSeconds: boolean): string {
  const d = new Date(tMs);
  const p = (n: number) => String(n).padStart(2, '0');
  return withSeconds ? `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}` : `${p(d.getHours())}:${p(d.getMinutes())}`;
}

/** Compact axis numbers: 1200 -> "1.2k". */
export function formatAxis(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e6) return `${+(v / 1e6).toFixed(1)}M`;
  if (a >= 1e5) return `${+(v / 1e3).toFixed(0)}k`;
  if (a >= 1e4) return `${+(v / 1e3).toFixed(1)}k`;
  return formatNumber(v, a >= 100 ? 0 : 1);
}

/** A y-axis range for points: padded, never empty (a flat line sits in the middle), with
 * bounds on a round step so that the ticks read well (e.g. 7,900–8,500 by 100). */
export function paddedDomain(values: number[]): [number, number] | null {
  let lo = Infinity, hi = -Infinity;
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (lo === Infinity) return null;
  if (hi - lo < 1e-9) {
    const pad = Math.max(1, Math.abs(lo) * 0.05);
    lo -= pad;
    hi += pad;
  } else {
    const pad = (hi - lo) * 0.05;
    lo -= pad;
    hi += pad;
  }
  const step = niceStep((hi - lo) / 4);
  return [Math.floor(lo / step) * step, Math.ceil(hi / step) * step];
}

/** Ticks on a round step across a domain (about 4–5 of them). */
export function niceTicks([lo, hi]: [number, number]): number[] {
  const step = niceStep((hi - lo) / 4);
  const out: number[] = [];
  for (let t = Math.ceil(lo / step - 1e-9) * step; t <= hi + 1e-9 && out.length < 12; t += step) out.push(+t.toFixed(10));
  return out;
}

/** 1, 2, 2.5 or 5 times a power of ten, at least `raw`. */
export function niceStep(raw: number): number {
  if (!(raw > 0)) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(raw)));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= raw - 1e-12) return m * p;
  return 10 * p;
}

const TICK_STEPS = [10, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 14400, 21600].map((s) => s * 1000);

/** Round-number time ticks (local clock) across [fromMs, toMs], at most `max` of them. */
export function timeTicks(fromMs: number, toMs: number, max = 6): number[] {
  if (!(toMs > fromMs)) return [];
  const span = toMs - fromMs;
  const step = TICK_STEPS.find((s) => span / s <= max) ?? Math.ceil(span / max / 3_600_000) * 3_600_000;
  const tz = new Date(fromMs).getTimezoneOffset() * 60_000;
  const first = Math.ceil((fromMs - tz) / step) * step + tz;
  const out: number[] = [];
  for (let t = first; t <= toMs; t += step) out.push(t);
  return out;
}
