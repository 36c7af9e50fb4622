// Time-series charts (Recharts). Animations are off: live points arrive every second or so.
import { memo } from 'react';
import { CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { formatAxis, formatClock, formatMetric, niceTicks, paddedDomain, timeTicks } from '../lib/format';
import type { MetricDef } from '../lib/metrics';
import type { Point } from '../lib/series';

export interface ChartSeries {
  name: string;
  color: string;
  points: Point[];
}

export const SERIES_COLORS = ['#0ea5e9', '#f97316', '#10b981', '#a855f7', '#ef4444', '#eab308', '#14b8a6', '#ec4899', '#6366f1', '#84cc16'];

interface Props {
  def: MetricDef;
  series: ChartSeries[];
  fromMs: number;
  toMs: number;
  height?: number;
  /** bumps when the points change (the arrays are updated in place) */
  version: number;
  showLegend?: boolean;
}

function ChartImpl({ def, series, fromMs, toMs, height = 180, showLegend }: Props) {
  const narrow = typeof window !== 'undefined' && window.innerWidth < 640;
  const tick = { fontSize: 11, fill: 'currentColor' };
  const yDomain = def.domain ?? paddedDomain(series.flatMap((s) => s.points.map((p) => p.v)));
  return (
    <div className="text-slate-500 dark:text-slate-400" style={{ height }}>
      <ResponsiveContainer width="100%" height="100%">
        <LineChart margin={{ top: 6, right: 10, bottom: 0, left: 4 }}>
          <CartesianGrid stroke="currentColor" strokeOpacity={0.15} vertical={false} />
          <XAxis
            dataKey="t"
            type="number"
            scale="time"
            domain={[fromMs, toMs]}
            allowDataOverflow
            ticks={timeTicks(fromMs, toMs, narrow ? 3 : 6)}
            interval={0}
            tickFormatter={(t: number) => formatClock(t, toMs - fromMs < 2 * 60_000)}
            tick={tick}
            stroke="currentColor"
            strokeOpacity={0.4}
          />
          <YAxis
            dataKey="v"
            type="number"
            domain={yDomain ?? ['auto', 'auto']}
            ticks={yDomain ? niceTicks(yDomain) : undefined}
            interval={0}
            tickFormatter={formatAxis}
            tick={tick}
            width={52}
            stroke="currentColor"
            strokeOpacity={0.4}
            label={{ value: def.unit || '', angle: -90, position: 'insideLeft', offset: 10, style: { fontSize: 11, fill: 'currentColor' } }}
          />
          <Tooltip
            isAnimationActive={false}
            labelFormatter={(t) => new Date(Number(t)).toLocaleString()}
            formatter={(v, name) => [formatMetric(def.id, Number(v)), name]}
            contentStyle={{ fontSize: 12, borderRadius: 8 }}
          />
          {showLegend && <Legend wrapperStyle={{ fontSize: 12 }} />}
          {series.map((s) => (
            <Line
              key={s.name}
              name={s.name}
              data={s.points}
              dataKey="v"
              type="monotone"
              stroke={s.color}
              strokeWidth={1.75}
              dot={s.points.length === 1}
              isAnimationActive={false}
              connectNulls={false}
            />
          ))}
        </LineChart>
      </ResponsiveContainer>
    </div>
  );
}

export const MetricChart = memo(ChartImpl);
