import { describe, expect, it } from 'vitest';
import { aggregateUrl, csvFileName, csvUrl, durationParam, gpuPath, msToNsString, takeToken, windowById, wsUrl } from '../lib/api';
import { gpuHref, parseRoute } from '../lib/router';

const T = Date.UTC(2026, 11, 2, 3, 0, 0);

describe('CSV download URL', () => {
  it('asks the telemetry route for CSV of the shown window, in exact ns, oldest first', () => {
    const u = new URL(csvUrl('GPU-0a1b', T - 15 * 60_000, T, ''), 'http://gw');
    expect(u.pathname).toBe('/api/v1/gpus/GPU-0a1b/telemetry');
    expect(u.searchParams.get('format')).toBe('csv');
    expect(u.searchParams.get('since')).toBe(`${T - 15 * 60_000}000000`);
    expect(u.searchParams.get('until')).toBe(`${T}000000`);
    expect(u.searchParams.get('reverse')).toBe('true');
    expect(Number(u.searchParams.get('limit'))).toBeGreaterThan(0);
  });

  it('percent-encodes keys that contain "/" (hostname/index keys)', () => {
    const u = csvUrl('node-1/0', T - 1000, T, 'http://gw:8081');
    expect(u.startsWith('http://gw:8081/api/v1/gpus/node-1%2F0/telemetry?')).toBe(true);
    expect(gpuPath('a b/c?')).toBe('/api/v1/gpus/a%20b%2Fc%3F');
  });

  it('keeps ns exact beyond 2^53', () => {
    expect(msToNsString(1764644400123)).toBe('1764644400123000000');
  });

  it('names the file after the GPU and window', () => {
    expect(csvFileName('node-1/0', windowById('1h'), T)).toBe('gpu-node-1_0-1h-2026-12-02T030000Z.csv');
  });
});

describe('aggregate URL', () => {
  it('uses a relative since, until=now and the window step', () => {
    const u = new URL(aggregateUrl('node-1/0', 'temperature', windowById('15m'), ''), 'http://gw');
    expect(u.pathname).toBe('/api/v1/gpus/node-1%2F0/aggregate');
    expect(Object.fromEntries(u.searchParams)).toEqual({ metric: 'temperature', since: '-15m', until: 'now', step: '5s' });
    expect(durationParam(24 * 3600_000)).toBe('24h');
    expect(durationParam(300_000)).toBe('5m');
    expect(durationParam(1500)).toBe('1500ms');
    expect(windowById('bogus').id).toBe('5m');
  });
});

describe('WebSocket URL', () => {
  it('is same-origin by default, wss behind https', () => {
    expect(wsUrl('', { protocol: 'http:', host: 'gw:8081' })).toBe('ws://gw:8081/ws');
    expect(wsUrl('', { protocol: 'https:', host: 'gw' })).toBe('wss://gw/ws');
    expect(wsUrl('https://other:9000', { protocol: 'http:', host: 'x' })).toBe('wss://other:9000/ws');
  });

  it('carries the gateway token as ?token= (browsers cannot set headers on a WebSocket)', () => {
    expect(wsUrl('', { protocol: 'http:', host: 'gw' }, 's3cr/t')).toBe('ws://gw/ws?token=s3cr%2Ft');
  });
});

describe('token', () => {
  const mem = () => {
    const m = new Map<string, string>();
    return { getItem: (k: string) => m.get(k) ?? null, setItem: (k: string, v: string) => void m.set(k, v) };
  };
  it('comes from #token= or ?token= once and is kept for the session', () => {
    const st = mem();
    expect(takeToken({ hash: '#token=abc', search: '' }, st)).toBe('abc');
    expect(takeToken({ hash: '', search: '' }, st)).toBe('abc');
    expect(takeToken({ hash: '', search: '?token=xyz' }, st)).toBe('xyz');
    expect(takeToken({ hash: '', search: '' }, mem())).toBe('');
  });
});

describe('routes', () => {
  it('round-trips GPU keys with "/" through /gpu/<encoded key>', () => {
    for (const key of ['GPU-0a1b2c3d', 'node-1/0', 'a b%/c']) {
      expect(parseRoute(gpuHref(key))).toEqual({ page: 'gpu', key });
    }
    expect(parseRoute('/gpu/node-1/0')).toEqual({ page: 'gpu', key: 'node-1/0' });
    expect(parseRoute('/')).toEqual({ page: 'fleet' });
    expect(parseRoute('/host/node-1')).toEqual({ page: 'host', host: 'node-1' });
    expect(parseRoute('/pipeline/')).toEqual({ page: 'pipeline' });
    expect(parseRoute('/nope').page).toBe('notfound');
  });
});
