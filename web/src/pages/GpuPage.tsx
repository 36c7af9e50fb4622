// One GPU at its own URL (/gpu/<encodeURIComponent(key)>): identity, latest values, and a live
// chart per metric over the chosen window. Metrics the GPU does not report say so.
import { useMemo, type MouseEvent } from 'react';
import { csvFileName, csvUrl, downloadWithToken, hasToken, windowById, WINDOWS } from '../lib/api';
import { alertSinceMs, sortedCurrent } from '../lib/alerts';
import { useAlerts, useFleet, useNow, useSubscription } from '../lib/context';
import { formatAgo, formatMetric } from '../lib/format';
import { gpuLabel, isStale, type GpuState } from '../lib/merge';
import { METRICS, metricDef, severityOf } from '../lib/metrics';
import { hostHref, setQueryParam, useLocation } from '../lib/router';
import { useSeries } from '../lib/useSeries';
import { GpuAlertBadge, SeverityPill } from '../components/AlertBadges';
import { ArrowLeft, Download } from '../components/icons';
import { Link } from '../components/Link';
import { LoadNotice } from '../components/LoadNotice';
import { MetricChart, SERIES_COLORS } from '../components/MetricChart';
import { WindowPicker } from '../components/WindowPicker';

const NO_METRICS: string[] = [];

export function GpuPage({ gpuKey }: { gpuKey: string }) {
  const fleet = useFleet();
  const now = useNow(1000);
  const { search } = useLocation();
  const win = windowById(new URLSearchParams(search).get('w'));
  const gpu = fleet.byKey.get(gpuKey);
  useSubscription([gpuKey], NO_METRICS);

  // every catalogue metric (reported or not), then metrics outside the catalogue the GPU reports
  const reported = useMemo(() => Object.keys(gpu?.metrics ?? {}).sort(), [gpu?.metrics]);
  const reportedKey = reported.join(',');
  const wanted = useMemo(() => reported.map((m) => [gpuKey, m] as [string, string]), [gpuKey, reportedKey]); // eslint-disable-line react-hooks/exhaustive-deps
  const series = useSeries(win, wanted, fleet.load !== 'loading');
  const extra = reported.filter((m) => !METRICS.some((d) => d.id === m));
  const all = [...METRICS.map((d) => d.id), ...extra];

  if (!gpu) {
    return (
      <div className="space-y-3">
        <BackLink />
        <LoadNotice fleet={fleet} />
        {fleet.load !== 'loading' && (
          <div className="card p-6">
            <h1 className="text-lg font-semibold">GPU not found</h1>
            <p className="muted mt-1 text-sm">
              No GPU with key <code className="break-all">{gpuKey}</code> is known to the gateway.
            </p>
          </div>
        )}
      </div>
    );
  }

  const stale = isStale(gpu, now);
  const download = (e: MouseEvent<HTMLAnchorElement>) => {
    // the window shown right now, computed at click time
    const until = Date.now();
    const url = csvUrl(gpu.key, until - win.ms, until);
    if (hasToken()) {
      // a link cannot send the Authorization header: fetch it and save the blob
      e.preventDefault();
      void downloadWithToken(url, csvFileName(gpu.key, win, until)).catch(() => undefined);
      return;
    }
    e.currentTarget.href = url;
    e.currentTarget.download = csvFileName(gpu.key, win, until);
  };

  return (
    <div className="space-y-4">
      <BackLink host={gpu.hostname} />
      <Identity gpu={gpu} stale={stale} now={now} />
      <GpuAlerts gpu={gpu} now={now} />
      <div className="flex flex-wrap items-center gap-2">
        <WindowPicker value={win.id} onChange={(id) => setQueryParam('w', id === WINDOWS[0].id ? null : id)} />
        <a className="btn ml-auto" href={csvUrl(gpu.key, now - win.ms, now)} onClick={download} data-testid="csv-download">
          <Download className="h-4 w-4" aria-hidden /> CSV ({win.label})
        </a>
      </div>
      <section aria-label="Metrics" className="grid grid-cols-1 gap-3 md:grid-cols-2 2xl:grid-cols-3" data-testid="gpu-charts">
        {all.map((m, i) => {
          const def = metricDef(m);
          const latest = gpu.metrics[m];
          const s = series.get(gpu.key, m);
          const st = series.status(gpu.key, m);
          const points = s ? s.points.slice() : [];
          const sev = severityOf(m, latest?.v);
          return (
            <article key={m} className="card p-3" data-metric={m} data-reported={!!latest} data-points={points.length}>
              <header className="mb-1 flex items-baseline justify-between gap-2">
                <h2 className="text-sm font-semibold">
                  {def.label} {def.unit && <span className="muted font-normal">({def.unit})</span>}
                </h2>
                <span className={`text-sm whitespace-nowrap sev-${sev}`}>{latest ? formatMetric(m, latest.v) : ''}</span>
              </header>
              {!latest ? (
                <div className="muted flex h-[180px] items-center justify-center rounded-lg border border-dashed border-slate-300 text-sm dark:border-slate-700" data-testid="not-reported">
                  Not reported by this GPU
                </div>
              ) : (
                <div className="relative">
                  <MetricChart def={def} series={[{ name: def.label, color: SERIES_COLORS[i % SERIES_COLORS.length], points }]} fromMs={now - win.ms} toMs={now} version={series.version} />
                  {points.length === 0 && (
                    <div className="muted pointer-events-none absolute inset-0 flex items-center justify-center text-xs">
                      {st === 'loading' ? 'Loading history…' : st === 'error' ? `History unavailable (${series.error(gpu.key, m)}); live points will appear` : 'Waiting for data…'}
                    </div>
                  )}
                </div>
              )}
            </article>
          );
        })}
      </section>
    </div>
  );
}

function BackLink({ host }: { host?: string }) {
  return (
    <nav aria-label="Breadcrumb" className="flex items-center gap-1 text-sm">
      <Link href="/" className="link inline-flex items-center gap-1">
        <ArrowLeft className="h-4 w-4" aria-hidden /> Fleet
      </Link>
      {host && (
        <>
          <span className="muted">/</span>
          <Link href={hostHref(host)} className="link">
            {host}
          </Link>
        </>
      )}
    </nav>
  );
}

function Identity({ gpu, stale, now }: { gpu: GpuState; stale: boolean; now: number }) {
  const labels = Object.entries(gpu.labels).filter(([, v]) => v !== '');
  // [label, value, wide on phones]
  const rows: [string, string, boolean][] = [
    ['Hostname', gpu.hostname || '–', false],
    ['Device', gpu.device || '–', false],
    ['Index', gpu.index === null ? '–' : String(gpu.index), false],
    ['Last seen', formatAgo(gpu.lastSeen || null, now), false],
    ['Model', gpu.model || '–', true],
    ['UUID', gpu.uuid || '–', true],
    ...(gpu.key !== gpu.uuid ? [['Key', gpu.key, true] as [string, string, boolean]] : []),
  ];
  return (
    <section className="card p-4" aria-labelledby="gpu-title">
      <div className="flex flex-wrap items-center gap-2">
        <h1 id="gpu-title" className="text-xl font-semibold" data-testid="gpu-title">
          {gpuLabel(gpu)}
        </h1>
        <span
          className={`rounded-full px-2 py-0.5 text-xs font-semibold ${
            stale ? 'bg-slate-200 text-slate-700 dark:bg-slate-700 dark:text-slate-200' : 'bg-emerald-100 text-emerald-800 dark:bg-emerald-950 dark:text-emerald-300'
          }`}
        >
          {stale ? 'stale' : 'reporting'}
        </span>
        <GpuAlertBadge gpuKey={gpu.key} uuid={gpu.uuid} />
      </div>
      <dl className="mt-3 grid grid-cols-2 gap-x-6 gap-y-1.5 text-sm lg:grid-cols-4">
        {rows.map(([k, v, wide]) => (
          <div key={k} className={`min-w-0 ${wide ? 'col-span-2 sm:col-span-1' : ''}`}>
            <dt className="muted text-xs">{k}</dt>
            <dd className="truncate font-mono text-[13px]" title={v}>
              {v}
            </dd>
          </div>
        ))}
      </dl>
      {labels.length > 0 && (
        <div className="mt-3 flex flex-wrap gap-1.5" aria-label="Labels">
          {labels.map(([k, v]) => (
            <span key={k} className="rounded-md bg-slate-100 px-2 py-0.5 font-mono text-xs dark:bg-slate-800">
              {k}={v}
            </span>
          ))}
        </div>
      )}
    </section>
  );
}

/** The GPU's current alerts, one line each (nothing when there is none). */
function GpuAlerts({ gpu, now }: { gpu: GpuState; now: number }) {
  const alerts = useAlerts();
  const mine = sortedCurrent(alerts).filter((a) => a.gpu === gpu.key || (!!gpu.uuid && a.uuid === gpu.uuid));
  if (!mine.length) return null;
  return (
    <section className="card p-3" aria-label="Alerts of this GPU" data-testid="gpu-alerts">
      <ul className="space-y-1.5 text-sm">
        {mine.map((a) => (
          <li key={a.rule} className="flex flex-wrap items-center gap-x-2 gap-y-0.5" data-alert-rule={a.rule} data-state={a.state}>
            <SeverityPill severity={a.severity} state={a.state} />
            <span className="font-medium">{a.rule}</span>
            <span className="muted min-w-0 flex-1 text-xs">
              {a.message} · {formatAgo(alertSinceMs(a), now)}
            </span>
          </li>
        ))}
      </ul>
      <Link href="/alerts" className="link mt-2 inline-block text-xs">
        All alerts
      </Link>
    </section>
  );
}
