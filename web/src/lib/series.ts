// Bounded time series for charts: history from /aggregate, live points appended from the
// WebSocket. Live points are merged into buckets of the window's step, and points older than the
// window are dropped, so a buffer never holds more than window/step (+ a hard cap) points.
import type { AggregatePoint } from './types';

export interface Point {
  /** ms since epoch */
  t: number;
  v: number;
  min?: number;
  max?: number;
}

export const HARD_CAP = 4000;

export class Series {
  points: Point[] = [];
  readonly windowMs: number;
  readonly stepMs: number;
  readonly cap: number;

  constructor(windowMs: number, stepMs: number, cap = HARD_CAP) {
    this.windowMs = windowMs;
    this.stepMs = Math.max(1, stepMs);
    this.cap = cap;
  }

  /** Replaces the contents with aggregate points (avg, or last when avg is missing). */
  loadAggregate(points: AggregatePoint[]): void {
    const out: Point[] = [];
    for (const p of points) {
      const v = p.avg ?? p.last;
      if (typeof v !== 'number' || !Number.isFinite(v) || typeof p.t_ns !== 'number') continue;
      out.push({ t: p.t_ns / 1e6, v, min: p.min, max: p.max });
    }
    out.sort((a, b) => a.t - b.t);
    // keep live points that arrived while the history was loading and are newer than it
    const lastT = out.length ? out[out.length - 1].t : -Infinity;
    for (const p of this.points) if (p.t > lastT) out.push(p);
    this.points = out;
    this.trim(out.length ? out[out.length - 1].t : Date.now());
  }

  /**
   * Appends a live value at time t (ms). A point in the same step bucket as the last point
   * replaces it (min/max widened); a point older than the last one is ignored. Returns whether
   * the series changed.
   */
  append(t: number, v: number, nowMs = t): boolean {
    if (!Number.isFinite(t) || !Number.isFinite(v)) return false;
    const pts = this.points;
    const last = pts[pts.length - 1];
    if (last && t < last.t) return false;
    if (last && Math.floor(last.t / this.stepMs) === Math.floor(t / this.stepMs)) {
      const min = Math.min(last.min ?? last.v, v);
      const max = Math.max(last.max ?? last.v, v);
      pts[pts.length - 1] = { t, v, min, max };
    } else {
      pts.push({ t, v });
    }
    this.trim(Math.max(nowMs, t));
    return true;
  }

  /** Drops points older than the window and keeps at most `cap` points. */
  trim(nowMs: number): void {
    const from = nowMs - this.windowMs;
    let i = 0;
    while (i < this.points.length && this.points[i].t < from) i++;
    if (this.points.length - i > this.cap) i = this.points.length - this.cap;
    if (i > 0) this.points = this.points.slice(i);
  }

  get length(): number {
    return this.points.length;
  }
}
