// "Allocated but idle": GPUs whose pod/namespace labels say they are in use while utilization
// stayed below a threshold over a recent window, per namespace.
import { useMemo } from 'react';
import { useFleet, useNow, useRuntime, useSubscription } from '../lib/context';
import { allocatedIdle } from '../lib/fleet';
import { formatNumber } from '../lib/format';
import { gpuLabel } from '../lib/merge';
import { FLEET_METRICS } from '../lib/metrics';
import { gpuHref, navigate, setQueryParam, useLocation } from '../lib/router';
import { LoadNotice } from '../components/LoadNotice';
import { Select } from './FleetPage';

const ALL = ['*'];
const WINDOWS: [string, string][] = [
  ['300000', '5 min'],
  ['600000', '10 min'],
  ['900000', '15 min'],
];

export function IdlePage() {
  const fleet = useFleet();
  const { store } = useRuntime();
  const now = useNow(2000);
  useSubscription(ALL, FLEET_METRICS);
  const p = new URLSearchParams(useLocation().search);
  const threshold = Number(p.get('below') ?? '10');
  const windowMs = Number(p.get('over') ?? '300000');
  const usage = useMemo(
    () => allocatedIdle(fleet.gpus, (k) => store.utilHistory(k), { threshold: Number.isFinite(threshold) ? threshold : 10, windowMs, nowMs: now }),
    [fleet.gpus, store, threshold, windowMs, now],
  );
  const allocated = usage.reduce((a, u) => a + u.allocated, 0);
  const idle = usage.reduce((a, u) => a + u.idle.length, 0);

  return (
    <div className="space-y-4">
      <div className="flex flex-wrap items-end justify-between gap-2">
        <div>
          <h1 className="text-xl font-semibold">Allocated but idle</h1>
          <p className="muted text-sm">
            GPUs with a pod or namespace label whose utilization stayed below the threshold, judged on the samples received since this
            dashboard was opened (up to the chosen window).
          </p>
        </div>
        <LoadNotice fleet={fleet} />
      </div>
      <div className="card flex flex-wrap items-end gap-3 p-3">
        <label className="flex flex-col gap-1 text-xs">
          <span className="muted">Utilization below (%)</span>
          <input className="input w-24" type="number" min={0} max={100} value={Number.isFinite(threshold) ? threshold : 10} onChange={(e) => setQueryParam('below', e.target.value === '10' ? null : e.target.value)} />
        </label>
        <Select label="Over the last" value={String(windowMs)} onChange={(v) => setQueryParam('over', v === '300000' ? null : v)} options={WINDOWS} />
        <p className="ml-auto text-sm" data-testid="idle-summary">
          <strong>{idle}</strong> of {allocated} allocated GPU{allocated === 1 ? '' : 's'} idle
        </p>
      </div>
      {usage.length === 0 ? (
        <p className="card muted p-6 text-center text-sm">No GPU carries pod or namespace labels.</p>
      ) : (
        usage.map((u) => (
          <section key={u.namespace} className="card overflow-x-auto" aria-label={`Namespace ${u.namespace}`} data-namespace={u.namespace}>
            <h2 className="flex flex-wrap items-baseline gap-2 border-b border-slate-200 px-3 py-2 text-sm font-semibold dark:border-slate-800">
              {u.namespace}
              <span className={`text-xs font-normal ${u.idle.length ? 'text-amber-700 dark:text-amber-400' : 'muted'}`}>
                {u.idle.length} idle of {u.allocated} allocated
              </span>
            </h2>
            {u.idle.length > 0 && (
              <table className="w-full text-sm">
                <thead className="text-left text-xs uppercase tracking-wide text-slate-500 dark:text-slate-400">
                  <tr>
                    <th className="px-3 py-2 font-semibold">GPU</th>
                    <th className="px-3 py-2 font-semibold">Pod</th>
                    <th className="px-3 py-2 text-right font-semibold">Avg util</th>
                    <th className="px-3 py-2 text-right font-semibold">Max util</th>
                  </tr>
                </thead>
                <tbody>
                  {u.idle.map((i) => (
                    <tr
                      key={i.gpu.key}
                      tabIndex={0}
                      className="cursor-pointer border-t border-slate-100 hover:bg-sky-50 dark:border-slate-800 dark:hover:bg-slate-800/60"
                      onClick={() => navigate(gpuHref(i.gpu.key))}
                      onKeyDown={(e) => e.key === 'Enter' && navigate(gpuHref(i.gpu.key))}
                      data-gpu={i.gpu.key}
                    >
                      <td className="px-3 py-2 font-medium">{gpuLabel(i.gpu)}</td>
                      <td className="px-3 py-2 font-mono text-xs">{i.pod || '–'}</td>
                      <td className="px-3 py-2 text-right">{formatNumber(i.avgUtil, 1)} %</td>
                      <td className="px-3 py-2 text-right">{formatNumber(i.maxUtil, 0)} %</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </section>
        ))
      )}
    </div>
  );
}
