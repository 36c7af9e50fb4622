// One host: its GPUs (table) and one metric of all of them in one chart, legend by hostname + GPU.
import { useMemo } from 'react';
import { windowById, WINDOWS } from '../lib/api';
import { useFleet, useNow, useSubscription } from '../lib/context';
import { fleetTotals } from '../lib/fleet';
import { formatNumber } from '../lib/format';
import { gpuLabel } from '../lib/merge';
import { FLEET_METRICS, METRICS, metricDef } from '../lib/metrics';
import { setQueryParam, useLocation } from '../lib/router';
import { useSeries } from '../lib/useSeries';
import { HostAlertBadge } from '../components/AlertBadges';
import { ArrowLeft } from '../components/icons';
import { GpuTable } from '../components/GpuTable';
import { Link } from '../components/Link';
import { LoadNotice } from '../components/LoadNotice';
import { MetricChart, SERIES_COLORS } from '../components/MetricChart';
import { Stat } from '../components/Stat';
import { WindowPicker } from '../components/WindowPicker';
import { Select } from './FleetPage';

export function HostPage({ host }: { host: string }) {
  const fleet = useFleet();
  const now = useNow(1000);
  const { search } = useLocation();
  const params = new URLSearchParams(search);
  const win = windowById(params.get('w'));
  const metric = METRICS.some((m) => m.id === params.get('metric')) ? params.get('metric')! : 'utilization';
  const gpus = useMemo(() => fleet.gpus.filter((g) => g.hostname === host), [fleet.gpus, host]);
  const keys = useMemo(() => gpus.map((g) => g.key), [gpus.map((g) => g.key).join('\u0000')]); // eslint-disable-line react-hooks/exhaustive-deps
  const subMetrics = useMemo(() => (FLEET_METRICS.includes(metric) ? FLEET_METRICS : [...FLEET_METRICS, metric]), [metric]);
  useSubscription(keys.length ? keys : null, subMetrics);
  const wanted = useMemo(() => gpus.filter((g) => g.metrics[metric]).map((g) => [g.key, metric] as [string, string]), [keys, metric]); // eslint-disable-line react-hooks/exhaustive-deps
  const series = useSeries(win, wanted, fleet.load !== 'loading');
  const totals = fleetTotals(gpus, now);
  const def = metricDef(metric);
  const chartSeries = gpus
    .filter((g) => g.metrics[metric])
    .map((g, i) => ({ name: gpuLabel(g), color: SERIES_COLORS[i % SERIES_COLORS.length], points: series.get(g.key, metric)?.points.slice() ?? [] }));
  const missing = gpus.filter((g) => !g.metrics[metric]);

  return (
    <div className="space-y-4">
      <nav aria-label="Breadcrumb" className="text-sm">
        <Link href="/" className="link inline-flex items-center gap-1">
          <ArrowLeft className="h-4 w-4" aria-hidden /> Fleet
        </Link>
      </nav>
      <div className="flex flex-wrap items-end justify-between gap-2">
        <div className="flex min-w-0 items-center gap-2">
          <h1 className="truncate text-xl font-semibold" data-testid="host-title">
            {host}
          </h1>
          <HostAlertBadge host={host} />
        </div>
        <LoadNotice fleet={fleet} />
      </div>
      {fleet.load !== 'loading' && gpus.length === 0 ? (
        <p className="card muted p-6 text-sm">No GPU of host {host} is known to the gateway.</p>
      ) : (
        <>
          <section className="grid grid-cols-2 gap-3 sm:grid-cols-4" aria-label="Host totals">
            <Stat label="GPUs" value={formatNumber(totals.gpus)} />
            <Stat label="Avg utilization" value={totals.avgUtilization === null ? 'not reported' : `${formatNumber(totals.avgUtilization, 1)} %`} />
            <Stat label="Power" value={totals.totalPower === null ? 'not reported' : `${formatNumber(totals.totalPower)} W`} />
            <Stat label="Stale GPUs" value={formatNumber(totals.stale)} tone={totals.stale ? 'warn' : 'ok'} />
          </section>
          <section className="card p-3" aria-label={`${def.label} of every GPU on ${host}`}>
            <div className="mb-2 flex flex-wrap items-end gap-2">
              <h2 className="mr-auto text-sm font-semibold">
                {def.label} {def.unit && <span className="muted font-normal">({def.unit})</span>}
              </h2>
              <Select label="Metric" value={metric} onChange={(v) => setQueryParam('metric', v === 'utilization' ? null : v)} options={METRICS.map((m) => [m.id, m.label])} />
              <WindowPicker value={win.id} onChange={(id) => setQueryParam('w', id === WINDOWS[0].id ? null : id)} />
            </div>
            {chartSeries.length === 0 ? (
              <div className="muted flex h-[240px] items-center justify-center rounded-lg border border-dashed border-slate-300 text-sm dark:border-slate-700">
                {def.label} is not reported by any GPU on this host
              </div>
            ) : (
              <MetricChart def={def} series={chartSeries} fromMs={now - win.ms} toMs={now} height={260} version={series.version} showLegend />
            )}
            {chartSeries.length > 0 && missing.length > 0 && (
              <p className="muted mt-1 text-xs">Not reported by: {missing.map((g) => gpuLabel(g)).join(', ')}</p>
            )}
          </section>
          <GpuTable gpus={gpus} now={now} groupByHost={false} />
        </>
      )}
    </div>
  );
}
