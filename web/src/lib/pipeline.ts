// Figures of the pipeline page, read from /stats (the gateway passes the broker's and the
// collectors' own /stats documents through). Rates come from deltas of monotonic counters.
import type { ApiStats } from './types';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

function topics(mq: Obj | null | undefined): [string, Obj][] {
  if (!mq || !isObj(mq.topics)) return [];
  return Object.entries(mq.topics).filter((e): e is [string, Obj] => isObj(e[1]));
}

/** The broker's accepted-message counter (total_processed, else the topics' message counts). */
export function mqCounter(mq: Obj | null | undefined): number | null {
  if (!mq) return null;
  const tp = num(mq.total_processed);
  if (tp !== null) return tp;
  let sum = 0, any = false;
  for (const [name, t] of topics(mq)) {
    if (name.endsWith('.dlq')) continue;
    const m = num(t.messages);
    if (m !== null) (sum += m), (any = true);
  }
  return any ? sum : null;
}

/** The broker's own throughput estimate (used until two samples give a delta). */
export function mqReportedRate(mq: Obj | null | undefined): number | null {
  let sum = 0, any = false;
  for (const [name, t] of topics(mq)) {
    if (name.endsWith('.dlq')) continue;
    const r = num(t.throughput_msg_per_sec);
    if (r !== null) (sum += r), (any = true);
  }
  return any ? sum : null;
}

/** Consumer lag: messages not yet delivered, summed over every group of every topic. */
export function mqLag(mq: Obj | null | undefined): number | null {
  let sum = 0, any = false;
  for (const [name, t] of topics(mq)) {
    if (name.endsWith('.dlq') || !isObj(t.groups)) continue;
    for (const g of Object.values(t.groups)) {
      const l = isObj(g) ? num(g.lag) : null;
      if (l !== null) (sum += l), (any = true);
    }
  }
  return any ? sum : null;
}

/** Dead-lettered messages: each topic's dlq count, else the size of its <topic>.dlq. */
export function mqDlq(mq: Obj | null | undefined): number | null {
  let sum = 0, any = false;
  const ts = topics(mq);
  for (const [name, t] of ts) {
    if (name.endsWith('.dlq')) continue;
    const d = num(t.dlq);
    if (d !== null) (sum += d), (any = true);
  }
  if (any) return sum;
  for (const [name, t] of ts) {
    if (!name.endsWith('.dlq')) continue;
    const m = num(t.messages);
    if (m !== null) (sum += m), (any = true);
  }
  return any ? sum : null;
}

/** A collector's stored-records counter. */
export function collectorCounter(stats: Obj | null | undefined): number | null {
  if (!stats) return null;
  return num(stats.total_processed) ?? num(stats.acked);
}

export function collectorHitRate(stats: Obj | null | undefined): number | null {
  if (!stats) return null;
  const r = num(stats.cache_hit_rate);
  if (r !== null) return r;
  const h = num(stats.cache_hits), m = num(stats.cache_misses);
  return h !== null && m !== null && h + m > 0 ? h / (h + m) : null;
}

/** Per-second rate between two samples of a monotonic counter; null across a reset or no time. */
export function counterRate(prev: number | null, cur: number | null, dtMs: number): number | null {
  if (prev === null || cur === null || !(dtMs > 0) || cur < prev) return null;
  return ((cur - prev) * 1000) / dtMs;
}

export interface PipelineSample {
  at: number;
  mq: number | null;
  collectors: Record<string, number | null>;
}

export function sampleOf(stats: ApiStats, at: number): PipelineSample {
  const collectors: Record<string, number | null> = {};
  for (const c of stats.collectors ?? []) collectors[c.name] = collectorCounter(isObj(c.stats) ? c.stats : null);
  return { at, mq: mqCounter(isObj(stats.mq) ? stats.mq : null), collectors };
}
