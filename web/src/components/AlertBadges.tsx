// Alert badges: the firing count in the header (a link to the alerts page), a GPU's and a host's
// firing/pending alerts (coloured by the worst severity), and a severity pill.
import { gpuMark, type AlertMark } from '../lib/alerts';
import { useAlerts } from '../lib/context';
import type { AlertSeverity, AlertState } from '../lib/types';
import { Bell, BellRing } from './icons';
import { Link } from './Link';

export const SEVERITY_BG: Record<AlertSeverity, string> = {
  critical: 'bg-red-600 text-white dark:bg-red-600',
  warning: 'bg-amber-400 text-amber-950 dark:bg-amber-500',
  info: 'bg-sky-600 text-white dark:bg-sky-600',
};
const PENDING = 'border border-dashed border-slate-400 text-slate-600 dark:border-slate-500 dark:text-slate-300';

const sevOf = (s: string | undefined): AlertSeverity => (s === 'critical' || s === 'warning' ? s : 'info');

/** Header: the number of firing alerts; red when some fire, grey 0 otherwise. */
export function AlertCount() {
  const a = useAlerts();
  const n = a.firing;
  // red whenever something fires (the contract), whatever the severity; the page tells them apart
  const tone = n > 0 ? SEVERITY_BG.critical : 'bg-slate-100 text-slate-500 dark:bg-slate-800 dark:text-slate-400';
  const label = !a.loaded ? 'Alerts: not known yet' : n > 0 ? `${n} alert${n === 1 ? '' : 's'} firing${a.pending ? `, ${a.pending} pending` : ''}` : `No alert firing${a.pending ? ` (${a.pending} pending)` : ''}`;
  const Icon = n > 0 ? BellRing : Bell;
  return (
    <Link
      href="/alerts"
      data-testid="alert-count"
      data-count={n}
      data-severity={a.worst ?? 'none'}
      aria-label={label}
      title={label}
      className={`inline-flex h-8 min-w-8 items-center justify-center gap-1 rounded-full px-2 text-xs font-semibold tabular-nums ${tone}`}
    >
      <Icon className="h-3.5 w-3.5" aria-hidden />
      <span aria-hidden>{a.loaded ? n : '–'}</span>
    </Link>
  );
}

/** A small pill: "critical", "warning", "pending"... */
export function SeverityPill({ severity, state }: { severity: string; state?: AlertState | string }) {
  const sev = sevOf(severity);
  const cls = state === 'pending' ? PENDING : state === 'resolved' ? 'bg-emerald-100 text-emerald-800 dark:bg-emerald-900/70 dark:text-emerald-200' : SEVERITY_BG[sev];
  const text = state === 'pending' ? `${sev} · pending` : state === 'resolved' ? 'resolved' : sev;
  return (
    <span className={`inline-block whitespace-nowrap rounded-full px-2 py-0.5 text-[11px] font-semibold leading-4 ${cls}`} data-severity={sev} data-state={state}>
      {text}
    </span>
  );
}

export function AlertMarkBadge({ mark, testid, compact }: { mark: AlertMark; testid: string; compact?: boolean }) {
  const firing = mark.firing > 0;
  const cls = firing ? SEVERITY_BG[mark.severity] : PENDING;
  const text = firing
    ? mark.firing === 1 && mark.pending === 0 && !compact
      ? mark.rules[0]
      : `${mark.firing} alert${mark.firing === 1 ? '' : 's'}`
    : compact
      ? 'pending'
      : `${mark.pending} pending`;
  const title = `${firing ? `${mark.firing} firing (${mark.severity})` : ''}${firing && mark.pending ? ', ' : ''}${mark.pending ? `${mark.pending} pending` : ''}: ${mark.rules.join(', ')}`;
  return (
    <span
      className={`inline-flex max-w-[10rem] shrink-0 items-center gap-1 truncate rounded-full px-1.5 py-0.5 align-middle text-[10px] font-semibold uppercase leading-3 tracking-wide ${cls}`}
      data-testid={testid}
      data-severity={firing ? mark.severity : 'pending'}
      data-firing={mark.firing}
      title={title}
    >
      <BellRing className="h-3 w-3 shrink-0" aria-hidden />
      <span className="truncate">{text}</span>
      <span className="sr-only">{title}</span>
    </span>
  );
}

/** A GPU's alerts (nothing when none is firing or pending). */
export function GpuAlertBadge({ gpuKey, uuid, compact }: { gpuKey: string; uuid?: string; compact?: boolean }) {
  const m = gpuMark(useAlerts(), gpuKey, uuid);
  return m ? <AlertMarkBadge mark={m} testid="gpu-alert" compact={compact} /> : null;
}

/** A host's alerts (nothing when none is firing or pending). */
export function HostAlertBadge({ host }: { host: string }) {
  const m = useAlerts().byHost.get(host);
  return m ? <AlertMarkBadge mark={m} testid="host-alert" /> : null;
}
