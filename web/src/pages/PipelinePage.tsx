// Pipeline health: the gateway, the broker and every collector with their last update, and the
// figures that say whether data flows (from /health and /stats, polled every few seconds; the
// telemetry itself is never polled).
import { useEffect, useRef, useState } from 'react';
import { fetchHealth, fetchStats } from '../lib/api';
import { useLiveStatus, useNow } from '../lib/context';
import { formatAge, formatAgo, formatDuration, formatNumber, formatRate, formatRatio } from '../lib/format';
import { collectorHitRate, counterRate, mqDlq, mqLag, mqReportedRate, sampleOf, type PipelineSample } from '../lib/pipeline';
import type { ApiHealth, ApiStats, HealthComponent, HealthStatus } from '../lib/types';
import { Activity, CircleAlert, Server } from '../components/icons';
import { Stat } from '../components/Stat';

export const POLL_MS = 3000;

interface PollState {
  health: ApiHealth | null;
  stats: ApiStats | null;
  healthAt: number | null;
  statsAt: number | null;
  error: string | null;
  prev: PipelineSample | null;
  cur: PipelineSample | null;
}

function usePipelinePoll(): PollState {
  const [st, setSt] = useState<PollState>({ health: null, stats: null, healthAt: null, statsAt: null, error: null, prev: null, cur: null });
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  useEffect(() => {
    let alive = true;
    const ac = new AbortController();
    const tick = async () => {
      const [h, s] = await Promise.allSettled([fetchHealth(ac.signal), fetchStats(ac.signal)]);
      if (!alive) return;
      const at = Date.now();
      setSt((old) => {
        const next = { ...old };
        if (h.status === 'fulfilled') (next.health = h.value), (next.healthAt = at);
        if (s.status === 'fulfilled') {
          next.stats = s.value;
          next.statsAt = at;
          next.prev = old.cur;
          next.cur = sampleOf(s.value, at);
        }
        const err = h.status === 'rejected' ? h.reason : s.status === 'rejected' ? s.reason : null;
        next.error = err ? (err instanceof Error ? err.message : String(err)) : null;
        return next;
      });
      // poll less while the tab is hidden
      timer.current = setTimeout(tick, document.hidden ? POLL_MS * 5 : POLL_MS);
    };
    void tick();
    return () => {
      alive = false;
      ac.abort();
      if (timer.current) clearTimeout(timer.current);
    };
  }, []);
  return st;
}

const statusTone: Record<HealthStatus | 'unknown', string> = {
  ok: 'bg-emerald-500',
  degraded: 'bg-amber-500',
  down: 'bg-red-600',
  unknown: 'bg-slate-400',
};
const statusText: Record<HealthStatus | 'unknown', string> = {
  ok: 'text-emerald-700 dark:text-emerald-400',
  degraded: 'text-amber-700 dark:text-amber-400',
  down: 'text-red-700 dark:text-red-400',
  unknown: 'muted',
};

export function PipelinePage() {
  const p = usePipelinePoll();
  const now = useNow(1000);
  const live = useLiveStatus();
  const unreachable = p.error !== null && (p.healthAt === null || (p.statsAt ?? 0) < now - POLL_MS * 3);
  const overall: HealthStatus | 'unknown' = unreachable ? 'down' : (p.health?.status ?? 'unknown');
  const mq = (p.stats?.mq ?? null) as Record<string, unknown> | null;
  const dt = p.prev && p.cur ? p.cur.at - p.prev.at : 0;
  const mqRate = counterRate(p.prev?.mq ?? null, p.cur?.mq ?? null, dt) ?? mqReportedRate(mq);
  const gw = p.stats?.gateway;
  const components: HealthComponent[] = p.health?.components ?? [];
  const collectors = p.stats?.collectors ?? [];

  return (
    <div className="space-y-4">
      <div className="flex flex-wrap items-center gap-3">
        <h1 className="text-xl font-semibold">Pipeline</h1>
        <span className={`inline-flex items-center gap-1.5 text-sm font-semibold ${statusText[overall]}`} data-testid="pipeline-status" data-status={overall}>
          <span className={`h-2.5 w-2.5 rounded-full ${statusTone[overall]}`} aria-hidden />
          {overall === 'unknown' ? 'checking…' : overall}
        </span>
        <span className="muted ml-auto text-xs">
          updated {formatAgo(p.healthAt, now)} · every {POLL_MS / 1000} s
        </span>
      </div>
      {unreachable && (
        <p className="card flex items-center gap-2 border-red-300 p-3 text-sm text-red-800 dark:border-red-900 dark:text-red-300" role="alert">
          <CircleAlert className="h-4 w-4" aria-hidden /> The gateway does not answer ({p.error}). Showing the last known state.
        </p>
      )}

      <section className="grid grid-cols-2 gap-3 sm:grid-cols-3 xl:grid-cols-6" aria-label="Pipeline figures">
        <Stat label="Broker throughput" value={formatRate(mqRate)} icon={<Activity className="h-3.5 w-3.5" aria-hidden />} testid="mq-rate" />
        <Stat label="Consumer lag" value={mqLag(mq) === null ? '–' : formatNumber(mqLag(mq)!)} tone={(mqLag(mq) ?? 0) > 10000 ? 'warn' : 'none'} hint="messages not yet delivered" />
        <Stat label="DLQ size" value={mqDlq(mq) === null ? '–' : formatNumber(mqDlq(mq)!)} tone={(mqDlq(mq) ?? 0) > 0 ? 'warn' : 'none'} hint="dead-lettered" />
        <Stat label="Gateway cache hit rate" value={formatRatio(gw?.cache?.hit_rate)} />
        <Stat
          label="WebSocket drops"
          value={formatNumber(gw?.ws?.frames_dropped ?? 0)}
          tone={(gw?.ws?.frames_dropped ?? 0) > 0 ? 'warn' : 'none'}
          hint={`${formatNumber(gw?.ws?.clients ?? 0)} client${gw?.ws?.clients === 1 ? '' : 's'} · this tab ${formatNumber(live.dropped)}`}
        />
        <Stat
          label="Last record"
          value={p.health?.last_record_age_seconds == null ? '–' : p.health.last_record_age_seconds < 1 ? 'just now' : `${formatAge(p.health.last_record_age_seconds)} ago`}
          hint={p.health ? `${formatNumber(p.health.gpus ?? 0)} GPUs · ${formatNumber(p.health.stale_gpus ?? 0)} stale` : undefined}
          tone={(p.health?.last_record_age_seconds ?? 0) > 60 ? 'warn' : 'none'}
        />
      </section>

      <section className="card overflow-x-auto" aria-labelledby="components-title">
        <h2 id="components-title" className="flex items-center gap-2 border-b border-slate-200 px-3 py-2 text-sm font-semibold dark:border-slate-800">
          <Server className="h-4 w-4" aria-hidden /> Components
        </h2>
        <table className="w-full text-sm" data-testid="components">
          <thead className="text-left text-xs uppercase tracking-wide text-slate-500 dark:text-slate-400">
            <tr>
              <th className="px-3 py-2 font-semibold">Component</th>
              <th className="px-3 py-2 font-semibold">Status</th>
              <th className="hidden px-3 py-2 font-semibold md:table-cell">Endpoint</th>
              <th className="px-3 py-2 text-right font-semibold">Latency</th>
              <th className="hidden px-3 py-2 text-right font-semibold sm:table-cell">Uptime</th>
              <th className="px-3 py-2 text-right font-semibold">Updated</th>
            </tr>
          </thead>
          <tbody>
            {components.length === 0 && (
              <tr>
                <td colSpan={6} className="muted px-3 py-4 text-center">
                  {p.error ? 'No answer from the gateway yet.' : 'Checking…'}
                </td>
              </tr>
            )}
            {components.map((c) => {
              // when the gateway itself stopped answering, every row is only the last known state
              const status: HealthStatus = unreachable && c.kind === 'gateway' ? 'down' : c.status;
              const checked = c.checked_at ? Date.parse(c.checked_at) : p.healthAt;
              return (
                <tr key={c.name} className="border-t border-slate-100 dark:border-slate-800" data-component={c.name} data-kind={c.kind} data-status={status}>
                  <td className="px-3 py-2">
                    <div className="font-medium">{c.name}</div>
                    <div className="muted text-xs">
                      {c.kind}
                      {c.version ? ` · v${c.version}` : ''}
                    </div>
                  </td>
                  <td className="px-3 py-2">
                    <span className={`inline-flex items-center gap-1.5 font-semibold ${statusText[status]}`}>
                      <span className={`h-2.5 w-2.5 rounded-full ${statusTone[status]}`} aria-hidden />
                      {status}
                    </span>
                    {c.error && status !== 'ok' && <div className="max-w-[18rem] truncate text-xs text-red-700 dark:text-red-400" title={c.error}>{c.error}</div>}
                  </td>
                  <td className="muted hidden px-3 py-2 font-mono text-xs md:table-cell">{c.url ?? '–'}</td>
                  <td className="px-3 py-2 text-right whitespace-nowrap">{c.latency_ms == null || status === 'down' ? '–' : `${formatNumber(c.latency_ms, 1)} ms`}</td>
                  <td className="hidden px-3 py-2 text-right whitespace-nowrap sm:table-cell">{status === 'down' ? '–' : formatDuration(c.uptime_seconds)}</td>
                  <td className="muted px-3 py-2 text-right text-xs whitespace-nowrap">{formatAgo(Number.isFinite(checked) ? checked : null, now)}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </section>

      <section className="card overflow-x-auto" aria-labelledby="collectors-title">
        <h2 id="collectors-title" className="border-b border-slate-200 px-3 py-2 text-sm font-semibold dark:border-slate-800">
          Collectors
        </h2>
        <table className="w-full text-sm">
          <thead className="text-left text-xs uppercase tracking-wide text-slate-500 dark:text-slate-400">
            <tr>
              <th className="px-3 py-2 font-semibold">Collector</th>
              <th className="px-3 py-2 text-right font-semibold">Records/s</th>
              <th className="px-3 py-2 text-right font-semibold">Stored</th>
              <th className="px-3 py-2 text-right font-semibold">Cache hit rate</th>
            </tr>
          </thead>
          <tbody>
            {collectors.length === 0 && (
              <tr>
                <td colSpan={4} className="muted px-3 py-4 text-center">
                  No collector statistics.
                </td>
              </tr>
            )}
            {collectors.map((c) => {
              const stats = (c.stats ?? null) as Record<string, unknown> | null;
              const rate = counterRate(p.prev?.collectors[c.name] ?? null, p.cur?.collectors[c.name] ?? null, dt);
              return (
                <tr key={c.name} className="border-t border-slate-100 dark:border-slate-800" data-collector={c.name}>
                  <td className="px-3 py-2 font-medium">
                    {c.name}
                    {!stats && <span className="ml-2 text-xs font-normal text-red-700 dark:text-red-400">no answer</span>}
                  </td>
                  <td className="px-3 py-2 text-right">{stats ? formatRate(rate) : '–'}</td>
                  <td className="px-3 py-2 text-right">{p.cur?.collectors[c.name] == null ? '–' : formatNumber(p.cur.collectors[c.name]!)}</td>
                  <td className="px-3 py-2 text-right">{formatRatio(collectorHitRate(stats))}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </section>
    </div>
  );
}
