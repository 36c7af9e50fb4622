import { describe, expect, it } from 'vitest';
import { ALERT_DOT_COLORS, BUCKETS, bucketOf, cellAlert, cellFor, heatMetric, legendFor, MISSING_COLOR, PALETTES, STALE_COLOR, textOn } from '../lib/heatmap';
import { emptyGpu, type GpuState } from '../lib/merge';

const gpu = (metrics: Record<string, number>): GpuState => ({
  ...emptyGpu('k'),
  metrics: Object.fromEntries(Object.entries(metrics).map(([k, v]) => [k, { v, t: 1 }])),
  lastSeen: 1,
});

describe('heat map buckets', () => {
  it('places values on bucket boundaries (lower bound inclusive)', () => {
    const b = [40, 55, 65, 75, 85];
    expect(bucketOf(b, -10)).toBe(0);
    expect(bucketOf(b, 39.9)).toBe(0);
    expect(bucketOf(b, 40)).toBe(1);
    expect(bucketOf(b, 74.99)).toBe(3);
    expect(bucketOf(b, 85)).toBe(5);
    expect(bucketOf(b, 1e9)).toBe(BUCKETS - 1);
    expect(bucketOf(b, undefined)).toBe(-1);
    expect(bucketOf(b, NaN)).toBe(-1);
  });

  it('colours temperature cool to hot', () => {
    const hm = heatMetric('temperature');
    expect(cellFor(hm, gpu({ temperature: 30 }), false)).toEqual({ kind: 'value', bucket: 0, color: PALETTES.heat[0] });
    expect(cellFor(hm, gpu({ temperature: 90 }), false)).toEqual({ kind: 'value', bucket: 5, color: PALETTES.heat[5] });
  });

  it('utilization uses the sequential palette', () => {
    const hm = heatMetric('utilization');
    expect(cellFor(hm, gpu({ utilization: 95 }), false).color).toBe(PALETTES.load[5]);
    expect(cellFor(hm, gpu({ utilization: 0 }), false).color).toBe(PALETTES.load[0]);
  });

  it('memory is bucketed by percentage used, and missing when free is not reported', () => {
    const hm = heatMetric('memory_pct');
    expect(cellFor(hm, gpu({ memory_used: 79000, memory_free: 1000 }), false).bucket).toBe(5); // 98.75 %
    expect(cellFor(hm, gpu({ memory_used: 100, memory_free: 900 }), false).bucket).toBe(0); // 10 %
    expect(cellFor(hm, gpu({ memory_used: 100 }), false).kind).toBe('missing');
  });

  it('a metric that is not reported is never coloured like zero', () => {
    const c = cellFor(heatMetric('power_draw'), gpu({ temperature: 50 }), false);
    expect(c).toEqual({ kind: 'missing', bucket: -1, color: MISSING_COLOR });
    expect(c.color).not.toBe(PALETTES.heat[0]);
  });

  it('stale wins over the value', () => {
    expect(cellFor(heatMetric('temperature'), gpu({ temperature: 90 }), true)).toEqual({ kind: 'stale', bucket: -1, color: STALE_COLOR });
  });

  it('has a legend entry per bucket and readable text on each colour', () => {
    const l = legendFor(heatMetric('temperature'));
    expect(l.map((e) => e.label)).toEqual(['< 40', '40–55', '55–65', '65–75', '75–85', '≥ 85']);
    expect(textOn('#fde725')).toBe('#111827');
    expect(textOn('#440154')).toBe('#f9fafb');
  });

  it('unknown heat metric falls back to temperature', () => {
    expect(heatMetric('nope').id).toBe('temperature');
  });
});

describe('heat map alert dot', () => {
  it('only for firing alerts, coloured by the worst severity, with a label', () => {
    expect(cellAlert(undefined)).toBeNull();
    expect(cellAlert({ severity: 'info', firing: 0, pending: 2, rules: ['warm'] })).toBeNull();
    expect(cellAlert({ severity: 'critical', firing: 2, pending: 1, rules: ['hot', 'xid'] })).toEqual({
      severity: 'critical',
      color: ALERT_DOT_COLORS.critical,
      text: '2 alerts firing (critical): hot, xid',
    });
    expect(cellAlert({ severity: 'warning', firing: 1, pending: 0, rules: ['warm'] })?.color).toBe(ALERT_DOT_COLORS.warning);
  });
  it('the dot colours differ from each other and from the stale colour', () => {
    const c = Object.values(ALERT_DOT_COLORS);
    expect(new Set([...c, STALE_COLOR]).size).toBe(c.length + 1);
  });
});
