// The GPU table, grouped by host: latest temperature, utilization, memory, power and clocks,
// coloured by severity. Rows are focusable; Enter (or a click) opens the GPU.
import { memo, type KeyboardEvent } from 'react';
import { gpuMark, type AlertMark } from '../lib/alerts';
import { useAlerts } from '../lib/context';
import { formatAgo, formatMemory, formatMetric } from '../lib/format';
import { gpuSeverity } from '../lib/fleet';
import { memoryPercent, severityOf, type Severity } from '../lib/metrics';
import { isStale, metricValue, type GpuState } from '../lib/merge';
import { gpuHref, hostHref, navigate } from '../lib/router';
import { AlertMarkBadge } from './AlertBadges';
import { Link } from './Link';

export function GpuTable({ gpus, now, groupByHost = true }: { gpus: GpuState[]; now: number; groupByHost?: boolean }) {
  const alerts = useAlerts();
  const groups: [string, GpuState[]][] = [];
  if (groupByHost) {
    const idx = new Map<string, number>();
    for (const g of gpus) {
      const h = g.hostname || '(unknown host)';
      let i = idx.get(h);
      if (i === undefined) {
        idx.set(h, (i = groups.length));
        groups.push([h, []]);
      }
      groups[i][1].push(g);
    }
  } else groups.push(['', gpus]);

  // One small fixed-layout table per host, all with the same columns: an off-screen host skips
  // style, layout and paint (content-visibility), so a 250-GPU fleet stays cheap to update.
  return (
    <div className="card overflow-hidden" data-testid="gpu-table">
      <table className="w-full table-fixed border-collapse text-sm">
        <Cols />
        <thead className="bg-slate-50 text-left text-xs uppercase tracking-wide text-slate-500 dark:bg-slate-900 dark:text-slate-400">
          <tr>
            <th scope="col" className="px-3 py-2 font-semibold">GPU</th>
            <th scope="col" className="hidden px-3 py-2 font-semibold lg:table-cell">Model</th>
            <th scope="col" className="px-2 py-2 text-right font-semibold">Temp</th>
            <th scope="col" className="px-3 py-2 font-semibold">Util</th>
            <th scope="col" className="hidden px-3 py-2 font-semibold sm:table-cell">Memory</th>
            <th scope="col" className="px-3 py-2 text-right font-semibold">Power</th>
            <th scope="col" className="hidden px-3 py-2 text-right font-semibold md:table-cell">SM / Mem clock</th>
            <th scope="col" className="hidden px-3 py-2 text-right font-semibold md:table-cell">Seen</th>
          </tr>
        </thead>
      </table>
      {groups.map(([host, list]) => (
        <div key={host || '_'} className="border-t border-slate-200 [content-visibility:auto] dark:border-slate-800" style={{ containIntrinsicSize: `auto ${(list.length * 52 + (groupByHost ? 34 : 0))}px` }}>
          {groupByHost && <HostRow host={host} list={list} now={now} mark={alerts.byHost.get(host)} />}
          <table className="w-full table-fixed border-collapse text-sm" aria-label={groupByHost ? `GPUs of ${host}` : undefined}>
            <Cols />
            <tbody data-host={host}>
              {list.map((g) => (
                <GpuRow key={g.key} g={g} stale={isStale(g, now)} seen={formatAgo(g.lastSeen || null, now)} alert={gpuMark(alerts, g.key, g.uuid)} />
              ))}
            </tbody>
          </table>
        </div>
      ))}
    </div>
  );
}

/** The shared column widths (the GPU column takes the rest). */
function Cols() {
  return (
    <colgroup>
      <col />
      <col className="hidden w-56 lg:table-column" />
      <col className="w-[4.5rem] sm:w-20" />
      <col className="w-24 sm:w-32" />
      <col className="hidden w-40 sm:table-column" />
      <col className="w-[4.5rem] sm:w-24" />
      <col className="hidden w-48 md:table-column" />
      <col className="hidden w-24 md:table-column" />
    </colgroup>
  );
}

function HostRow({ host, list, now, mark }: { host: string; list: GpuState[]; now: number; mark: AlertMark | undefined }) {
  const stale = list.filter((g) => isStale(g, now)).length;
  // outside the table: a row spanning "all columns" would change the fixed layout's column count
  return (
    <h3 className="flex flex-wrap items-center gap-x-2 bg-slate-100/70 px-3 py-1.5 text-xs font-semibold dark:bg-slate-800/50" data-host-row={host}>
      <Link href={hostHref(host)} className="link text-sm">
        {host}
      </Link>
      {mark && <AlertMarkBadge mark={mark} testid="host-alert" />}
      <span className="muted font-normal">
        {list.length} GPU{list.length === 1 ? '' : 's'}
        {stale > 0 && <span className="ml-2 text-slate-600 dark:text-slate-300">· {stale} stale</span>}
      </span>
    </h3>
  );
}

const sevClass = (s: Severity) => `sev-${s}`;

const GpuRow = memo(function GpuRow({ g, stale, seen, alert }: { g: GpuState; stale: boolean; seen: string; alert: AlertMark | undefined }) {
  const open = () => navigate(gpuHref(g.key));
  const key = (e: KeyboardEvent<HTMLTableRowElement>) => {
    if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      open();
    }
  };
  const temp = metricValue(g, 'temperature');
  const util = metricValue(g, 'utilization');
  const used = metricValue(g, 'memory_used');
  const free = metricValue(g, 'memory_free');
  const memPct = memoryPercent(used, free);
  const power = metricValue(g, 'power_draw');
  const sm = metricValue(g, 'sm_clock');
  const mc = metricValue(g, 'mem_clock');
  const sev = gpuSeverity(g);
  return (
    <tr
      tabIndex={0}
      onClick={open}
      onKeyDown={key}
      data-gpu={g.key}
      data-stale={stale}
      data-severity={sev}
      data-alert={alert ? (alert.firing ? alert.severity : 'pending') : undefined}
      aria-label={`Open GPU ${g.hostname} ${g.index ?? g.key}`}
      className={`cursor-pointer border-t border-slate-100 hover:bg-sky-50 focus-visible:bg-sky-50 dark:border-slate-800/70 dark:hover:bg-slate-800/60 dark:focus-visible:bg-slate-800/60 ${
        stale ? 'opacity-60' : ''
      }`}
    >
      <td className="px-3 py-2">
        <div className="flex items-center gap-2">
          <span
            className={`inline-block h-2.5 w-2.5 shrink-0 rounded-full ${
              stale ? 'bg-slate-400' : sev === 'crit' ? 'bg-red-500' : sev === 'warn' ? 'bg-amber-500' : 'bg-emerald-500'
            }`}
            title={stale ? 'stale' : sev === 'none' ? 'ok' : sev}
            aria-hidden
          />
          <div className="min-w-0 flex-1">
            <div className="flex min-w-0 items-center gap-2 font-medium">
              <span className="shrink-0">GPU {g.index ?? '?'}</span>
              {stale && <span className="rounded bg-slate-200 px-1.5 py-0.5 text-[10px] font-semibold uppercase text-slate-700 dark:bg-slate-700 dark:text-slate-200">stale</span>}
              {alert && <AlertMarkBadge mark={alert} testid="gpu-alert" />}
            </div>
            <div className="muted truncate text-xs" title={g.uuid || g.key}>
              {g.labels.pod ? `${g.labels.namespace ? g.labels.namespace + '/' : ''}${g.labels.pod}` : g.uuid || g.key}
            </div>
          </div>
        </div>
      </td>
      <td className="hidden truncate px-3 py-2 text-xs lg:table-cell" title={g.model}>
        {g.model || '–'}
      </td>
      <td className={`px-2 py-2 text-right whitespace-nowrap ${sevClass(severityOf('temperature', temp))}`}>
        <Val id="temperature" v={temp} />
      </td>
      <td className="px-3 py-2">
        <Bar v={util} max={100} label={util === undefined ? undefined : formatMetric('utilization', util)} tone="sky" />
      </td>
      <td className={`hidden px-3 py-2 sm:table-cell ${sevClass(severityOf('memory_pct', memPct))}`}>
        <Bar v={memPct ?? undefined} max={100} label={used === undefined ? undefined : formatMemory(used, free)} tone={severityOf('memory_pct', memPct) === 'ok' ? 'violet' : 'amber'} />
      </td>
      <td className="truncate px-3 py-2 text-right whitespace-nowrap">
        <Val id="power_draw" v={power} />
      </td>
      <td className="hidden px-3 py-2 text-right whitespace-nowrap text-xs md:table-cell">
        {sm === undefined && mc === undefined ? (
          <Val id="sm_clock" v={undefined} />
        ) : (
          <>
            <Val id="sm_clock" v={sm} /> <span className="muted">/</span> <Val id="mem_clock" v={mc} />
          </>
        )}
      </td>
      <td className="muted hidden px-3 py-2 text-right text-xs whitespace-nowrap md:table-cell">{seen}</td>
    </tr>
  );
});

function Val({ id, v }: { id: string; v: number | undefined }) {
  if (v === undefined) return <span className="muted text-xs italic">not reported</span>;
  return <span>{formatMetric(id, v)}</span>;
}

function Bar({ v, max, label, tone }: { v: number | undefined; max: number; label: string | undefined; tone: 'sky' | 'violet' | 'amber' }) {
  if (v === undefined || label === undefined) return <span className="muted text-xs italic">not reported</span>;
  const pct = Math.max(0, Math.min(100, (v / max) * 100));
  const color = tone === 'sky' ? 'bg-sky-500' : tone === 'violet' ? 'bg-violet-500' : 'bg-amber-500';
  return (
    <div className="min-w-0">
      <div className="text-xs whitespace-nowrap">{label}</div>
      <div className="mt-1 h-1.5 w-full rounded-full bg-slate-200 dark:bg-slate-700" aria-hidden>
        <div className={`h-1.5 rounded-full ${color}`} style={{ width: `${pct}%` }} />
      </div>
    </div>
  );
}
