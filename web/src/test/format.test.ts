import { describe, expect, it } from 'vitest';
import { niceTicks, timeTicks, formatAge, formatAgo, formatAxis, formatMemory, formatMetric, formatMiB, formatRate, formatRatio, formatWithUnit, paddedDomain } from '../lib/format';

describe('units', () => {
  it('puts each metric in its unit', () => {
    expect(formatMetric('temperature', 61.4)).toBe('61 °C');
    expect(formatMetric('utilization', 87)).toBe('87 %');
    expect(formatMetric('power_draw', 612.25)).toBe('612 W');
    expect(formatMetric('sm_clock', 1980)).toBe('1,980 MHz');
    expect(formatMetric('memory_used', 512)).toBe('512 MiB');
    expect(formatMetric('memory_used', 40000)).toBe('39.1 GiB');
  });
  it('says "not reported" for a missing metric, never 0', () => {
    expect(formatMetric('power_draw', undefined)).toBe('not reported');
    expect(formatMetric('power_draw', null)).toBe('not reported');
    expect(formatMetric('power_draw', NaN)).toBe('not reported');
    expect(formatMemory(undefined, 100)).toBe('not reported');
  });
  it('keeps unknown metrics readable', () => {
    expect(formatMetric('pcie_replay', 3.14159)).toBe('3.14');
    expect(formatWithUnit(5, '')).toBe('5');
  });
  it('formats memory used / total in one unit', () => {
    expect(formatMemory(40000, 41559)).toBe('39.1 / 79.6 GiB');
    expect(formatMemory(512, 512)).toBe('512 / 1,024 MiB');
    expect(formatMemory(512, undefined)).toBe('512 MiB');
    expect(formatMiB(10240)).toBe('10.0 GiB');
  });
  it('formats rates and ratios', () => {
    expect(formatRate(0)).toBe('0/s');
    expect(formatRate(12.34)).toBe('12.3/s');
    expect(formatRate(250)).toBe('250/s');
    expect(formatRate(1234)).toBe('1.2k/s');
    expect(formatRate(3_400_000)).toBe('3.4M/s');
    expect(formatRate(null)).toBe('–');
    expect(formatRatio(0.934)).toBe('93.4 %');
    expect(formatRatio(undefined)).toBe('–');
  });
  it('formats axis ticks compactly', () => {
    expect(formatAxis(1980)).toBe('1,980');
    expect(formatAxis(12.5)).toBe('12.5');
    expect(formatAxis(81559)).toBe('81.6k');
    expect(formatAxis(250000)).toBe('250k');
  });
  it('pads a flat series so it does not sit on an axis', () => {
    expect(paddedDomain([1980, 1980])).toEqual([1850, 2100]);
    expect(paddedDomain([0, 0])).toEqual([-1, 1]);
    expect(paddedDomain([7968, 8432])).toEqual([7800, 8600]);
    expect(niceTicks([7800, 8600])).toEqual([7800, 8000, 8200, 8400, 8600]);
    expect(niceTicks([0, 100])).toEqual([0, 25, 50, 75, 100]);
    expect(niceTicks([1850, 2100])).toEqual([1900, 2000, 2100]);
    expect(paddedDomain([])).toBeNull();
    const [lo, hi] = paddedDomain([10, 20])!;
    expect(lo).toBeLessThan(10);
    expect(hi).toBeGreaterThan(20);
  });
});

describe('ages', () => {
  it('formats ages short', () => {
    expect(formatAge(0.4)).toBe('now');
    expect(formatAge(12.9)).toBe('12 s');
    expect(formatAge(240)).toBe('4 min');
    expect(formatAge(3600)).toBe('1 h');
    expect(formatAge(2 * 3600 + 5 * 60)).toBe('2 h 5 min');
    expect(formatAge(3 * 86400 + 4 * 3600)).toBe('3 d 4 h');
    expect(formatAge(-5)).toBe('now');
    expect(formatAge(null)).toBe('never');
  });
  it('says how long ago', () => {
    const now = 1_000_000;
    expect(formatAgo(now - 300, now)).toBe('just now');
    expect(formatAgo(now - 3000, now)).toBe('3 s ago');
    expect(formatAgo(null, now)).toBe('never');
  });
});

describe('time ticks', () => {
  it('puts round-number ticks across the window', () => {
    const to = Date.UTC(2026, 11, 2, 3, 2, 17);
    const t5 = timeTicks(to - 5 * 60_000, to);
    expect(t5.length).toBeGreaterThanOrEqual(4);
    expect(t5.length).toBeLessThanOrEqual(6);
    expect(t5.every((t) => t % 60_000 === 0)).toBe(true);
    expect(t5[0]).toBeGreaterThanOrEqual(to - 5 * 60_000);
    const t24 = timeTicks(to - 24 * 3600_000, to);
    expect(t24.length).toBeLessThanOrEqual(6);
    expect(timeTicks(to, to)).toEqual([]);
  });
});
