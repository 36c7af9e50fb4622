// Fleet heat map: one row per host, one cell per GPU index, coloured by the chosen metric; a GPU
// with firing alerts gets a dot in its cell's corner, coloured by the worst severity.
// A CSS grid of plain divs (cheap to update: the store notifies once per animation frame) with
// one tab stop: arrow keys move between cells, Enter opens the GPU.
import { memo, useMemo, useRef, useState, type CSSProperties, type KeyboardEvent } from 'react';
import { gpuMark, type AlertMark } from '../lib/alerts';
import { useAlerts } from '../lib/context';
import { formatNumber } from '../lib/format';
import { ALERT_DOT_COLORS, cellAlert, cellFor, heatMetric, HEAT_METRICS, legendFor, MISSING_COLOR, STALE_COLOR, textOn } from '../lib/heatmap';
import { gpuLabel, isStale, type GpuState } from '../lib/merge';
import { gpuHref, hostHref, navigate } from '../lib/router';
import { Link } from './Link';

interface Props {
  gpus: GpuState[];
  metric: string;
  onMetric: (id: string) => void;
  now: number;
}

export function HeatMap({ gpus, metric, onMetric, now }: Props) {
  const hm = heatMetric(metric);
  const alerts = useAlerts();
  const { rows, cols } = useMemo(() => {
    const byHost = new Map<string, GpuState[]>();
    for (const g of gpus) {
      const h = g.hostname || '(unknown host)';
      let l = byHost.get(h);
      if (!l) byHost.set(h, (l = []));
      l.push(g);
    }
    let cols = 0;
    for (const l of byHost.values()) cols = Math.max(cols, l.length);
    return { rows: [...byHost.entries()], cols };
  }, [gpus]);
  const [focus, setFocus] = useState<[number, number]>([0, 0]);
  const gridRef = useRef<HTMLDivElement>(null);

  const move = (e: KeyboardEvent<HTMLDivElement>) => {
    let [r, c] = focus;
    switch (e.key) {
      case 'ArrowRight': c++; break;
      case 'ArrowLeft': c--; break;
      case 'ArrowDown': r++; break;
      case 'ArrowUp': r--; break;
      case 'Home': c = 0; break;
      case 'End': c = (rows[r]?.[1].length ?? 1) - 1; break;
      case 'Enter': {
        const g = rows[r]?.[1][c];
        if (g) navigate(gpuHref(g.key));
        e.preventDefault();
        return;
      }
      default:
        return;
    }
    e.preventDefault();
    r = Math.max(0, Math.min(rows.length - 1, r));
    c = Math.max(0, Math.min((rows[r]?.[1].length ?? 1) - 1, c));
    setFocus([r, c]);
    const el = gridRef.current?.querySelector<HTMLElement>(`[data-cell="${r}-${c}"]`);
    el?.focus();
  };

  return (
    <section className="card p-3 sm:p-4" aria-labelledby="heatmap-title">
      <div className="mb-3 flex flex-wrap items-center gap-2">
        <h2 id="heatmap-title" className="text-base font-semibold">
          Fleet heat map
        </h2>
        <span className="muted text-xs">host × GPU</span>
        <label className="ml-auto flex items-center gap-2 text-sm">
          <span className="muted">Metric</span>
          <select className="input" value={hm.id} onChange={(e) => onMetric(e.target.value)} data-testid="heatmap-metric">
            {HEAT_METRICS.map((m) => (
              <option key={m.id} value={m.id}>
                {m.label} ({m.unit})
              </option>
            ))}
          </select>
        </label>
      </div>
      {rows.length === 0 ? (
        <p className="muted py-6 text-center text-sm">No GPUs match.</p>
      ) : (
        <div
          ref={gridRef}
          role="grid"
          aria-label={`Heat map of ${hm.label}: one row per host, one cell per GPU`}
          onKeyDown={move}
          className="grid gap-x-3 gap-y-2 text-[11px] [grid-template-columns:repeat(auto-fill,minmax(var(--hm-sm),1fr))] sm:gap-x-4 sm:[grid-template-columns:repeat(auto-fill,minmax(var(--hm),1fr))]"
          style={{ '--hm-sm': `${Math.max(6, cols * 1.05 + 0.3)}rem`, '--hm': `${Math.max(8, cols * 1.9 + 0.5)}rem` } as CSSProperties}
          data-testid="heatmap"
        >
          {rows.map(([host, list], r) => (
            <div role="row" key={host} className="min-w-0">
              <div role="rowheader" className="truncate leading-5">
                <Link href={hostHref(host)} className="link" tabIndex={-1}>
                  {host}
                </Link>
              </div>
              <div className="grid gap-[3px]" style={{ gridTemplateColumns: `repeat(${cols}, minmax(0, 1fr))` }}>
                {list.map((g, c) => (
                  <HeatCell
                    key={g.key}
                    g={g}
                    metric={hm.id}
                    stale={isStale(g, now)}
                    alert={gpuMark(alerts, g.key, g.uuid)}
                    tabbable={focus[0] === r && focus[1] === c}
                    id={`${r}-${c}`}
                    onFocus={() => setFocus([r, c])}
                  />
                ))}
              </div>
            </div>
          ))}
        </div>
      )}
      <Legend metric={hm.id} alerts={alerts.firing > 0} />
    </section>
  );
}

const HeatCell = memo(function HeatCell({
  g,
  metric,
  stale,
  alert,
  tabbable,
  id,
  onFocus,
}: {
  g: GpuState;
  metric: string;
  stale: boolean;
  alert: AlertMark | undefined;
  tabbable: boolean;
  id: string;
  onFocus: () => void;
}) {
  const hm = heatMetric(metric);
  const cell = cellFor(hm, g, stale);
  const v = hm.value(g);
  const valueText = cell.kind === 'stale' ? 'stale' : cell.kind === 'missing' ? 'not reported' : `${formatNumber(v!, 0)} ${hm.unit}`;
  const al = cellAlert(alert);
  const title = `${gpuLabel(g)} — ${hm.label}: ${valueText}${al ? ` — ${al.text}` : ''}`;
  return (
    <div
      role="gridcell"
      tabIndex={tabbable ? 0 : -1}
      data-cell={id}
      data-kind={cell.kind}
      data-bucket={cell.bucket}
      data-alert={al?.severity}
      aria-label={title}
      title={title}
      onFocus={onFocus}
      onClick={() => navigate(gpuHref(g.key))}
      className={`relative flex h-5 cursor-pointer sm:h-6 items-center justify-center rounded-[3px] tabular-nums hover:ring-2 hover:ring-sky-500 ${
        cell.kind === 'missing' ? 'border border-dashed border-slate-300 text-slate-400 dark:border-slate-600 dark:text-slate-500' : ''
      }`}
      style={{ backgroundColor: cell.color, color: cell.kind === 'value' ? textOn(cell.color) : cell.kind === 'stale' ? '#f9fafb' : undefined }}
    >
      <span className="hidden overflow-hidden sm:inline">{cell.kind === 'value' ? formatNumber(v!, 0) : cell.kind === 'stale' ? '–' : '·'}</span>
      {al && (
        <span
          className="pointer-events-none absolute -right-1 -top-1 h-2.5 w-2.5 rounded-full ring-2 ring-white dark:ring-slate-900"
          style={{ backgroundColor: al.color }}
          data-testid="heat-alert"
          data-severity={al.severity}
          aria-hidden
        />
      )}
    </div>
  );
});

function Legend({ metric, alerts }: { metric: string; alerts: boolean }) {
  const hm = heatMetric(metric);
  return (
    <div className="mt-3 flex flex-wrap items-center gap-x-3 gap-y-1 text-xs" aria-label="Legend">
      <span className="muted">{hm.unit}</span>
      {legendFor(hm).map((l) => (
        <span key={l.label} className="inline-flex items-center gap-1">
          <span className="inline-block h-3 w-4 rounded-sm" style={{ backgroundColor: l.color }} aria-hidden />
          {l.label}
        </span>
      ))}
      <span className="inline-flex items-center gap-1">
        <span className="inline-block h-3 w-4 rounded-sm" style={{ backgroundColor: STALE_COLOR }} aria-hidden />
        stale
      </span>
      <span className="inline-flex items-center gap-1">
        <span className="inline-block h-3 w-4 rounded-sm border border-dashed border-slate-400" style={{ backgroundColor: MISSING_COLOR }} aria-hidden />
        not reported
      </span>
      {alerts && (
        <span className="inline-flex items-center gap-1" data-testid="heat-alert-legend">
          <span className="inline-block h-2.5 w-2.5 rounded-full" style={{ backgroundColor: ALERT_DOT_COLORS.critical }} aria-hidden />
          <span className="inline-block h-2.5 w-2.5 rounded-full" style={{ backgroundColor: ALERT_DOT_COLORS.warning }} aria-hidden />
          alert firing (critical, warning)
        </span>
      )}
    </div>
  );
}
