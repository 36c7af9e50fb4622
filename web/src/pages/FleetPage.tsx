import { useMemo, useState } from 'react';
import { GpuTable } from '../components/GpuTable';
import { HeatMap } from '../components/HeatMap';
import { FilterX, Search, SlidersHorizontal } from '../components/icons';
import { Stat } from '../components/Stat';
import { LoadNotice } from '../components/LoadNotice';
import { useFleet, useNow, useSubscription } from '../lib/context';
import { EMPTY_FILTER, fleetTotals, isFilterActive, matchesFilter, type FleetFilter } from '../lib/fleet';
import { formatNumber, formatRatio } from '../lib/format';
import { FLEET_METRICS, METRICS } from '../lib/metrics';
import { setQueryParam, useLocation } from '../lib/router';

const ALL = ['*'];

/** Filter state lives in the URL (?q=&host=&model=&stale=&sev=&m=&op=&v=&heat=) so a view can be shared. */
function filterFromSearch(search: string): FleetFilter & { heat: string } {
  const p = new URLSearchParams(search);
  const stale = p.get('stale');
  const sev = p.get('sev');
  return {
    text: p.get('q') ?? '',
    host: p.get('host') ?? '',
    model: p.get('model') ?? '',
    stale: stale === 'stale' || stale === 'fresh' ? stale : 'all',
    severity: sev === 'warn' || sev === 'crit' ? sev : 'all',
    metric: p.get('m') ?? EMPTY_FILTER.metric,
    op: p.get('op') === 'le' ? 'le' : 'ge',
    value: p.get('v') ?? '',
    heat: p.get('heat') ?? 'temperature',
  };
}

export function FleetPage() {
  const fleet = useFleet();
  const now = useNow(1000);
  const { search } = useLocation();
  const f = filterFromSearch(search);
  useSubscription(ALL, FLEET_METRICS);

  const models = useMemo(() => [...new Set(fleet.gpus.map((g) => g.model).filter(Boolean))].sort(), [fleet.gpus]);
  const shown = useMemo(() => fleet.gpus.filter((g) => matchesFilter(g, f, now)), [fleet.gpus, search, now]); // eslint-disable-line react-hooks/exhaustive-deps
  const totals = useMemo(() => fleetTotals(fleet.gpus, now), [fleet.gpus, now]);
  const active = isFilterActive(f);
  const [showFilters, setShowFilters] = useState(false);

  return (
    <div className="space-y-4">
      <div className="flex flex-wrap items-end justify-between gap-2">
        <h1 className="text-xl font-semibold">Fleet</h1>
        <LoadNotice fleet={fleet} />
      </div>
      <section aria-label="Fleet totals" className="grid grid-cols-2 gap-3 sm:grid-cols-3 lg:grid-cols-6" data-testid="fleet-totals">
        <Stat label="GPUs" value={formatNumber(totals.gpus)} testid="total-gpus" />
        <Stat label="Hosts" value={formatNumber(totals.hosts)} testid="total-hosts" />
        <Stat label="Avg utilization" value={totals.avgUtilization === null ? 'not reported' : `${formatNumber(totals.avgUtilization, 1)} %`} />
        <Stat label="Total power" value={totals.totalPower === null ? 'not reported' : totals.totalPower >= 10000 ? `${formatNumber(totals.totalPower / 1000, 1)} kW` : `${formatNumber(totals.totalPower)} W`} />
        <Stat label="Stale GPUs" value={formatNumber(totals.stale)} tone={totals.stale ? 'warn' : 'ok'} hint={totals.gpus ? formatRatio(totals.stale / totals.gpus) : undefined} testid="total-stale" />
        <Stat label="Over threshold" value={`${totals.crit} · ${totals.warn}`} hint="critical · warning" tone={totals.crit ? 'crit' : totals.warn ? 'warn' : 'ok'} />
      </section>

      <HeatMap gpus={shown} metric={f.heat} onMetric={(id) => setQueryParam('heat', id === 'temperature' ? null : id)} now={now} />

      <section aria-label="Filters" className="card flex flex-wrap items-end gap-2 p-3">
        <label className="flex min-w-[12rem] flex-1 flex-col gap-1 text-xs">
          <span className="muted">Search</span>
          <span className="relative">
            <Search className="pointer-events-none absolute left-2 top-2.5 h-4 w-4 text-slate-400" aria-hidden />
            <input
              type="search"
              className="input w-full pl-8"
              placeholder="host, uuid, model, pod, namespace…"
              value={f.text}
              onChange={(e) => setQueryParam('q', e.target.value)}
              data-testid="fleet-search"
            />
          </span>
        </label>
        <button
          type="button"
          className="btn sm:hidden"
          aria-expanded={showFilters}
          aria-controls="fleet-filters"
          onClick={() => setShowFilters((v) => !v)}
        >
          <SlidersHorizontal className="h-4 w-4" aria-hidden /> Filters{active ? ' •' : ''}
        </button>
        <div id="fleet-filters" className={`${showFilters ? 'flex' : 'hidden'} w-full flex-wrap items-end gap-2 sm:flex sm:w-auto sm:contents`}>
        <Select label="Host" value={f.host} onChange={(v) => setQueryParam('host', v)} options={[['', 'All hosts'], ...fleet.hosts.map((h) => [h, h] as [string, string])]} />
        <Select label="Model" value={f.model} onChange={(v) => setQueryParam('model', v)} options={[['', 'All models'], ...models.map((m) => [m, m] as [string, string])]} />
        <Select label="Freshness" value={f.stale} onChange={(v) => setQueryParam('stale', v === 'all' ? null : v)} options={[['all', 'All'], ['fresh', 'Reporting'], ['stale', 'Stale only']]} />
        <Select label="Severity" value={f.severity} onChange={(v) => setQueryParam('sev', v === 'all' ? null : v)} options={[['all', 'Any'], ['warn', 'Warning or worse'], ['crit', 'Critical']]} />
        <fieldset className="flex items-end gap-1">
          <legend className="sr-only">Threshold</legend>
          <Select
            label="Threshold"
            value={f.metric}
            onChange={(v) => setQueryParam('m', v)}
            options={[['', 'None'], ...METRICS.filter((m) => FLEET_METRICS.includes(m.id)).map((m) => [m.id, `${m.short} (${m.unit})`] as [string, string]), ['memory_pct', 'Mem used (%)']]}
          />
          <Select label="Op" hideLabel value={f.op} onChange={(v) => setQueryParam('op', v === 'ge' ? null : v)} options={[['ge', '≥'], ['le', '≤']]} />
          <label className="flex flex-col gap-1 text-xs">
            <span className="sr-only">Threshold value</span>
            <input className="input w-20" inputMode="decimal" placeholder="value" value={f.value} disabled={!f.metric} onChange={(e) => setQueryParam('v', e.target.value)} />
          </label>
        </fieldset>
        </div>
        {active && (
          <button
            type="button"
            className="btn"
            onClick={() => {
              for (const k of ['q', 'host', 'model', 'stale', 'sev', 'm', 'op', 'v']) setQueryParam(k, null);
            }}
          >
            <FilterX className="h-4 w-4" aria-hidden /> Clear
          </button>
        )}
        <p className="muted ml-auto self-center text-xs" aria-live="polite">
          {active ? `${shown.length} of ${fleet.gpus.length} GPUs` : `${fleet.gpus.length} GPUs`}
        </p>
      </section>

      {fleet.load === 'ready' && shown.length === 0 ? (
        <p className="card muted p-6 text-center text-sm">{fleet.gpus.length ? 'No GPU matches the filters.' : 'No GPU has reported yet.'}</p>
      ) : (
        <GpuTable gpus={shown} now={now} />
      )}
    </div>
  );
}

export function Select({
  label,
  value,
  onChange,
  options,
  hideLabel,
}: {
  label: string;
  value: string;
  onChange: (v: string) => void;
  options: [string, string][];
  hideLabel?: boolean;
}) {
  return (
    <label className="flex flex-col gap-1 text-xs">
      <span className={hideLabel ? 'sr-only' : 'muted'}>{label}</span>
      <select className="input max-w-[12rem]" value={value} onChange={(e) => onChange(e.target.value)}>
        {options.map(([v, l]) => (
          <option key={v} value={v}>
            {l}
          </option>
        ))}
      </select>
    </label>
  );
}
