// Alerts (/alerts): what fires or is pending now, and the recent changes (pending, firing,
// resolved, events), all live from the WebSocket; nothing here polls.
import { useMemo, useState } from 'react';
import { alertSinceMs, sortedCurrent } from '../lib/alerts';
import { useAlerts, useFleet, useLiveStatus, useNow } from '../lib/context';
import { formatAgo, formatMetric, formatNumber, formatWithUnit } from '../lib/format';
import { gpuLabel } from '../lib/merge';
import { metricDef } from '../lib/metrics';
import { gpuHref, hostHref } from '../lib/router';
import type { ApiAlert } from '../lib/types';
import type { GpuState } from '../lib/merge';
import { SEVERITY_BG, SeverityPill } from '../components/AlertBadges';
import { CircleAlert } from '../components/icons';
import { Link } from '../components/Link';
import { Stat } from '../components/Stat';

/** The dashboard's name for a metric the rules name canonically. */
const METRIC_ALIAS: Record<string, string> = { gpu_utilization: 'utilization' };

/** "91.5 °C > 85 °C" (threshold alerts), the value alone, or "–". */
export function alertValue(a: ApiAlert): string {
  if (typeof a.value !== 'number') return '–';
  const def = a.metric ? metricDef(METRIC_ALIAS[a.metric] ?? a.metric) : null;
  const fmt = (v: number) =>
    !def ? formatNumber(v, 2) : def.unit === 'MiB' ? formatMetric(def.id, v) : formatWithUnit(v, def.unit, Number.isInteger(v) ? 0 : Math.max(1, def.decimals));
  if (a.op && typeof a.threshold === 'number') return `${fmt(a.value)} ${a.op} ${fmt(a.threshold)}`;
  return fmt(a.value);
}

function GpuCell({ a, byKey }: { a: ApiAlert; byKey: ReadonlyMap<string, GpuState> }) {
  const key = a.gpu || a.uuid;
  if (!key) return <span className="muted">–</span>;
  const g = byKey.get(key) ?? (a.uuid ? byKey.get(a.uuid) : undefined);
  return (
    <Link href={gpuHref(g?.key ?? key)} className="link block truncate" title={a.uuid || key} aria-label={g ? gpuLabel(g) : undefined}>
      {g ? (
        <>
          {/* narrow screens show the host on its own line */}
          <span className="md:hidden">GPU {g.index ?? '?'}</span>
          <span className="hidden md:inline">{gpuLabel(g)}</span>
        </>
      ) : (
        key
      )}
    </Link>
  );
}

function HostCell({ a }: { a: ApiAlert }) {
  return a.hostname ? (
    <Link href={hostHref(a.hostname)} className="link block truncate">
      {a.hostname}
    </Link>
  ) : (
    <span className="muted">–</span>
  );
}

const clock = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
const dayClock = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });

/** "2 min ago" (current alerts), or the clock time with the age as tooltip (history). */
function Since({ a, now, asClock }: { a: ApiAlert; now: number; asClock?: boolean }) {
  const t = alertSinceMs(a);
  const ago = formatAgo(t, now);
  const text = !asClock || t === null ? ago : now - t < 20 * 3600_000 ? clock.format(t) : dayClock.format(t);
  return (
    <time dateTime={t ? new Date(t).toISOString() : undefined} title={t ? `${new Date(t).toLocaleString()} (${ago})` : undefined} className="whitespace-nowrap">
      {text}
    </time>
  );
}

/** A change's state: "firing" coloured by severity, "pending" dashed, "resolved" green, "event". */
function StatePill({ a }: { a: ApiAlert }) {
  const cls =
    a.state === 'firing'
      ? SEVERITY_BG[a.severity] ?? SEVERITY_BG.info
      : a.state === 'pending'
        ? 'border border-dashed border-slate-400 text-slate-600 dark:border-slate-500 dark:text-slate-300'
        : a.state === 'resolved'
          ? 'bg-emerald-100 text-emerald-800 dark:bg-emerald-900/70 dark:text-emerald-200'
          : 'bg-violet-100 text-violet-800 dark:bg-violet-950 dark:text-violet-300';
  return (
    <span className={`inline-block whitespace-nowrap rounded-full px-2 py-0.5 text-[11px] font-semibold leading-4 ${cls}`} title={`${a.severity} · ${a.state}`}>
      {a.state}
    </span>
  );
}

/** History rows shown at first; "Show more" adds as many again. */
const HISTORY_PAGE = 50;

const th = 'px-3 py-2 font-semibold';
const HEAD = 'bg-slate-50 text-left text-xs uppercase tracking-wide text-slate-500 dark:bg-slate-900 dark:text-slate-400';

export function AlertsPage() {
  const alerts = useAlerts();
  const fleet = useFleet();
  const live = useLiveStatus();
  const now = useNow(1000);
  const current = useMemo(() => sortedCurrent(alerts), [alerts]);
  const [kind, setKind] = useState<'all' | 'changes' | 'events'>('all');
  const [shown, setShown] = useState(HISTORY_PAGE);
  const history = useMemo(
    () => alerts.history.filter((a) => kind === 'all' || (kind === 'events' ? a.state === 'event' : a.state !== 'event')),
    [alerts.history, kind],
  );
  const critical = current.filter((a) => a.state === 'firing' && a.severity === 'critical').length;

  return (
    <div className="space-y-4">
      <div className="flex flex-wrap items-end justify-between gap-2">
        <h1 className="text-xl font-semibold">Alerts</h1>
        {!alerts.loaded ? (
          <p className="muted text-sm" role="status">
            Loading alerts…
          </p>
        ) : (
          live.state !== 'live' && (
            <p className="flex items-center gap-1.5 text-sm text-amber-700 dark:text-amber-400" role="status">
              <CircleAlert className="h-4 w-4" aria-hidden /> Not live: the list may be out of date until the connection is back.
            </p>
          )
        )}
      </div>

      <section aria-label="Alert totals" className="grid grid-cols-2 gap-3 sm:grid-cols-4">
        <Stat label="Firing" value={alerts.loaded ? formatNumber(alerts.firing) : '–'} tone={alerts.firing ? 'crit' : 'ok'} testid="alerts-firing" />
        <Stat label="Critical" value={alerts.loaded ? formatNumber(critical) : '–'} tone={critical ? 'crit' : 'none'} />
        <Stat label="Pending" value={alerts.loaded ? formatNumber(alerts.pending) : '–'} tone={alerts.pending ? 'warn' : 'none'} testid="alerts-pending" />
        <Stat label="Recent changes" value={formatNumber(alerts.history.length)} hint={alerts.history.length ? `last ${formatAgo(alertSinceMs(alerts.history[0]), now)}` : undefined} />
      </section>

      <section aria-labelledby="current-title" className="space-y-2">
        <h2 id="current-title" className="text-sm font-semibold">
          Current
        </h2>
        {current.length === 0 ? (
          <p className="card muted p-6 text-center text-sm" data-testid="no-alerts">
            {alerts.loaded ? 'No alert is firing or pending.' : 'Waiting for the gateway…'}
          </p>
        ) : (
          <div className="card overflow-hidden">
            <table className="w-full table-fixed border-collapse text-sm" data-testid="current-alerts">
              <colgroup>
                <col className="hidden w-32 sm:table-column" />
                <col className="sm:w-44" />
                <col className="w-28 md:w-52" />
                <col className="hidden w-36 md:table-column" />
                <col className="hidden w-36 sm:table-column" />
                <col className="hidden w-28 sm:table-column" />
                <col className="hidden lg:table-column" />
              </colgroup>
              <thead className={HEAD}>
                <tr>
                  <th scope="col" className={`${th} hidden sm:table-cell`}>Severity</th>
                  <th scope="col" className={th}>Rule</th>
                  <th scope="col" className={th}>GPU</th>
                  <th scope="col" className={`${th} hidden md:table-cell`}>Host</th>
                  <th scope="col" className={`${th} hidden text-right sm:table-cell`}>Value</th>
                  <th scope="col" className={`${th} hidden text-right sm:table-cell`}>Since</th>
                  <th scope="col" className={`${th} hidden lg:table-cell`}>Message</th>
                </tr>
              </thead>
              <tbody>
                {current.map((a) => (
                  <tr key={`${a.rule}\u0000${a.gpu ?? a.uuid}`} className="border-t border-slate-100 dark:border-slate-800/70" data-alert-rule={a.rule} data-alert-gpu={a.gpu} data-state={a.state} data-severity={a.severity}>
                    <td className="hidden px-3 py-2 sm:table-cell">
                      <SeverityPill severity={a.severity} state={a.state} />
                    </td>
                    <td className="min-w-0 px-3 py-2">
                      <div className="flex min-w-0 flex-wrap items-center gap-x-2 gap-y-1">
                        <span className="sm:hidden">
                          <SeverityPill severity={a.severity} state={a.state} />
                        </span>
                        <span className="truncate font-medium">{a.rule}</span>
                      </div>
                      {/* below lg the message (and on phones its age) go under the rule */}
                      <div className="muted text-xs break-words lg:hidden">
                        {a.message || alertValue(a)}
                        <span className="sm:hidden">
                          {' · '}
                          <Since a={a} now={now} />
                        </span>
                      </div>
                    </td>
                    <td className="min-w-0 px-3 py-2">
                      <GpuCell a={a} byKey={fleet.byKey} />
                      <div className="muted truncate text-xs md:hidden">{a.hostname}</div>
                    </td>
                    <td className="hidden min-w-0 px-3 py-2 md:table-cell">
                      <HostCell a={a} />
                    </td>
                    <td className="hidden px-3 py-2 text-right whitespace-nowrap sm:table-cell">{alertValue(a)}</td>
                    <td className="hidden px-3 py-2 text-right sm:table-cell">
                      <Since a={a} now={now} />
                    </td>
                    <td className="hidden px-3 py-2 break-words lg:table-cell">{a.message}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>

      <section aria-labelledby="history-title" className="space-y-2">
        <div className="flex flex-wrap items-center justify-between gap-2">
          <h2 id="history-title" className="text-sm font-semibold">
            Recent changes
          </h2>
          <div className="flex gap-1" role="group" aria-label="Show">
            {(
              [
                ['all', 'All'],
                ['changes', 'State changes'],
                ['events', 'Events'],
              ] as const
            ).map(([id, label]) => (
              <button key={id} type="button" className={`btn h-8 px-2.5 text-xs ${kind === id ? 'btn-on' : ''}`} aria-pressed={kind === id} onClick={() => setKind(id)}>
                {label}
              </button>
            ))}
          </div>
        </div>
        {history.length === 0 ? (
          <p className="card muted p-6 text-center text-sm">{kind === 'events' ? 'No event yet.' : 'No alert has changed yet.'}</p>
        ) : (
          <div className="card overflow-hidden">
            <table className="w-full table-fixed border-collapse text-sm" data-testid="alert-history">
              <colgroup>
                <col className="w-[5.5rem] sm:w-28" />
                <col className="w-[5.5rem] sm:w-28" />
                <col className="sm:w-44" />
                <col className="hidden w-52 sm:table-column" />
                <col className="hidden lg:table-column" />
              </colgroup>
              <thead className={HEAD}>
                <tr>
                  <th scope="col" className={th}>When</th>
                  <th scope="col" className={th}>State</th>
                  <th scope="col" className={th}>Rule</th>
                  <th scope="col" className={`${th} hidden sm:table-cell`}>GPU</th>
                  <th scope="col" className={`${th} hidden lg:table-cell`}>Message</th>
                </tr>
              </thead>
              <tbody>
                {history.slice(0, shown).map((a) => (
                  <tr key={`${a.seq}:${a.since_ns ?? a.since}:${a.rule}:${a.gpu}:${a.state}`} className="border-t border-slate-100 dark:border-slate-800/70" data-seq={a.seq} data-state={a.state} data-alert-rule={a.rule}>
                    <td className="muted px-3 py-2 text-xs tabular-nums">
                      <Since a={a} now={now} asClock />
                    </td>
                    <td className="px-3 py-2">
                      <StatePill a={a} />
                    </td>
                    <td className="min-w-0 px-3 py-2">
                      <div className="truncate font-medium">{a.rule}</div>
                      <div className="muted truncate text-xs sm:hidden">{a.gpu ? (fleet.byKey.get(a.gpu) ? gpuLabel(fleet.byKey.get(a.gpu)!) : a.gpu) : a.hostname}</div>
                      <div className="muted text-xs break-words lg:hidden">{a.message}</div>
                    </td>
                    <td className="hidden min-w-0 px-3 py-2 sm:table-cell">
                      <GpuCell a={a} byKey={fleet.byKey} />
                    </td>
                    <td className="hidden px-3 py-2 break-words lg:table-cell">{a.message}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            {history.length > shown && (
              <div className="border-t border-slate-100 p-2 text-center dark:border-slate-800/70">
                <button type="button" className="btn h-8 text-xs" onClick={() => setShown((n) => n + HISTORY_PAGE)}>
                  Show more ({history.length - shown} older)
                </button>
              </div>
            )}
          </div>
        )}
      </section>
    </div>
  );
}
