import { describe, expect, it } from 'vitest';
import { AlertStore, HISTORY_MAX, alertId, gpuMark, initialAlerts, reduceAlerts, sortedCurrent, type AlertsAction, type AlertsState } from '../lib/alerts';
import type { ApiAlert } from '../lib/types';
import { alertValue } from '../pages/AlertsPage';

const T0 = 1_796_000_000_000; // ms
let seq = 0;
const hot = (state: ApiAlert['state'], over: Partial<ApiAlert> = {}): ApiAlert => ({
  seq: ++seq,
  rule: 'hot',
  kind: 'threshold',
  state,
  severity: 'critical',
  gpu: 'host-a/0',
  uuid: 'GPU-a0',
  hostname: 'host-a',
  metric: 'temperature',
  op: '>',
  threshold: 85,
  value: 91.5,
  since_ns: (T0 + seq * 1000) * 1e6,
  message: 'temperature 91.5 > 85',
  ...over,
});
const run = (actions: AlertsAction[], from: AlertsState = initialAlerts()) => actions.reduce(reduceAlerts, from);

describe('alerts reducer', () => {
  it('takes the WebSocket snapshot as the current set: counts, per-GPU and per-host marks', () => {
    seq = 0;
    const s = run([
      {
        type: 'snapshot',
        source: 'ws',
        body: {
          alerts: [
            hot('firing'),
            hot('pending', { rule: 'warm', severity: 'warning' }),
            hot('firing', { rule: 'power', severity: 'warning', gpu: 'host-b/1', uuid: 'GPU-b1', hostname: 'host-b' }),
            hot('resolved', { rule: 'old' }), // not current: ignored
          ],
          firing: 2,
          pending: 1,
          last_seq: 10,
        },
      },
    ]);
    expect(s.loaded).toBe(true);
    expect([s.firing, s.pending, s.lastSeq, s.worst]).toEqual([2, 1, 10, 'critical']);
    expect(gpuMark(s, 'host-a/0')).toEqual({ severity: 'critical', firing: 1, pending: 1, rules: ['hot', 'warm'] });
    expect(gpuMark(s, 'unknown-key', 'GPU-b1')?.severity).toBe('warning'); // found by UUID
    expect(s.byHost.get('host-b')).toMatchObject({ severity: 'warning', firing: 1 });
    expect(sortedCurrent(s).map((a) => a.rule)).toEqual(['hot', 'power', 'warm']); // firing (worst first), then pending
    expect(s.history).toEqual([]); // a snapshot is not history
  });

  it('follows one alert pending -> firing -> resolved, recording each change once', () => {
    seq = 0;
    let s = run([{ type: 'snapshot', source: 'ws', body: { alerts: [], last_seq: 0 } }]);
    const p = hot('pending');
    s = reduceAlerts(s, { type: 'change', alert: p });
    expect([s.firing, s.pending]).toEqual([0, 1]);
    expect(gpuMark(s, 'host-a/0')).toMatchObject({ firing: 0, pending: 1 });
    const f = hot('firing');
    s = reduceAlerts(s, { type: 'change', alert: f });
    expect([s.firing, s.pending, s.worst]).toEqual([1, 0, 'critical']);
    expect(s.current.get(alertId(f))!.state).toBe('firing');
    const again = reduceAlerts(s, { type: 'change', alert: f }); // the same frame twice
    expect(again).toBe(s);
    s = reduceAlerts(s, { type: 'change', alert: hot('resolved') });
    expect([s.firing, s.pending, s.worst]).toEqual([0, 0, null]);
    expect(s.byGpu.size).toBe(0);
    expect(s.byHost.size).toBe(0);
    expect(s.history.map((a) => a.state)).toEqual(['resolved', 'firing', 'pending']); // newest first
    expect(s.lastSeq).toBe(3);
  });

  it('keeps events in the history only', () => {
    seq = 0;
    let s = run([{ type: 'snapshot', source: 'ws', body: { alerts: [], last_seq: 0 } }]);
    s = reduceAlerts(s, { type: 'change', alert: hot('event', { rule: 'xid', kind: 'event', severity: 'critical', message: 'XID 79: GPU has fallen off the bus' }) });
    expect([s.firing, s.pending, s.current.size]).toEqual([0, 0, 0]);
    expect(s.history[0].message).toContain('fallen off the bus');
  });

  it('ignores changes the snapshot already holds and stale REST answers; merges the history', () => {
    seq = 0;
    const early = hot('firing'); // seq 1, already in the snapshot below
    let s = run([{ type: 'snapshot', source: 'ws', body: { alerts: [early], last_seq: 5 } }]);
    // a resolve the snapshot already reflected (seq <= last_seq) does not remove the alert
    s = reduceAlerts(s, { type: 'change', alert: { ...early, seq: 3, state: 'resolved' } });
    expect(s.firing).toBe(1);
    const later = hot('resolved', { seq: 6 });
    s = reduceAlerts(s, { type: 'change', alert: later });
    expect(s.firing).toBe(0);
    // the REST GET answered before that change: older than what we hold, dropped
    const stale = reduceAlerts(s, { type: 'snapshot', source: 'rest', body: { alerts: [early], last_seq: 5 } });
    expect(stale).toBe(s);
    // the history GET overlaps what the socket delivered: no duplicates, newest first
    s = reduceAlerts(s, { type: 'history', body: { alerts: [hot('pending', { seq: 0, since_ns: early.since_ns! - 1e9 }), { ...early }, { ...later }], last_seq: 6 } });
    expect(s.history.map((a) => `${a.seq}:${a.state}`)).toEqual(['6:resolved', '3:resolved', '1:firing', '0:pending']);
  });

  it('after a reconnect the new snapshot replaces the set, also from a restarted gateway', () => {
    seq = 100;
    let s = run([{ type: 'snapshot', source: 'ws', body: { alerts: [hot('firing'), hot('firing', { gpu: 'host-a/1', uuid: 'GPU-a1' })], last_seq: 120 } }]);
    seq = 120;
    s = reduceAlerts(s, { type: 'change', alert: hot('firing', { rule: 'warm', severity: 'warning' }) });
    expect(s.firing).toBe(3);
    // the socket drops; the gateway restarts and numbers its changes from 0 again
    s = reduceAlerts(s, { type: 'reconnect' });
    expect(s.firing).toBe(3); // nothing known yet: the old set stays until the snapshot
    seq = 0;
    // the REST answer may come first; it is accepted although its seqs are lower
    const gone = hot('firing', { gpu: 'host-a/1', uuid: 'GPU-a1' });
    s = reduceAlerts(s, { type: 'snapshot', source: 'rest', body: { alerts: [gone], last_seq: 2 } });
    expect(s.firing).toBe(1);
    s = reduceAlerts(s, { type: 'snapshot', source: 'ws', body: { alerts: [gone], last_seq: 2 } });
    expect([s.firing, s.lastSeq]).toEqual([1, 2]);
    // and its changes apply, although their seqs are below the old ones
    s = reduceAlerts(s, { type: 'change', alert: { ...gone, seq: 3, state: 'resolved', since_ns: gone.since_ns! + 5e9 } });
    expect(s.firing).toBe(0);
    // the changes seen before the restart stay in the history (they happened)
    expect(s.history.length).toBe(2);
    // from now on an older REST answer is dropped again
    expect(reduceAlerts(s, { type: 'snapshot', source: 'rest', body: { alerts: [gone], last_seq: 2 } })).toBe(s);
  });

  it('bounds the history and rejects junk', () => {
    seq = 0;
    let s = initialAlerts();
    for (let i = 0; i < HISTORY_MAX + 50; i++) s = reduceAlerts(s, { type: 'change', alert: hot(i % 2 ? 'firing' : 'resolved') });
    expect(s.history.length).toBe(HISTORY_MAX);
    expect(s.history[0].seq).toBe(HISTORY_MAX + 50);
    const junk = reduceAlerts(s, { type: 'change', alert: { foo: 1 } as unknown as ApiAlert });
    expect(junk).toBe(s);
    const t = reduceAlerts(s, { type: 'snapshot', source: 'ws', body: { alerts: [null, { rule: 'x' }] } as never });
    expect(t.current.size).toBe(0);
  });
});

describe('AlertStore', () => {
  it('notifies on changes only', () => {
    seq = 0;
    const st = new AlertStore();
    let n = 0;
    st.subscribe(() => n++);
    const a = hot('firing');
    st.dispatch({ type: 'change', alert: a });
    st.dispatch({ type: 'change', alert: a });
    expect(n).toBe(1);
    expect(st.getSnapshot().firing).toBe(1);
  });
});

describe('alert values', () => {
  it('formats value and threshold with the metric unit', () => {
    expect(alertValue(hot('firing'))).toBe('91.5 °C > 85 °C');
    expect(alertValue(hot('firing', { metric: 'gpu_utilization', value: 3, op: '<', threshold: 5 }))).toBe('3 % < 5 %');
    expect(alertValue(hot('firing', { kind: 'stale', metric: undefined, op: undefined, threshold: undefined, value: undefined }))).toBe('–');
  });
});
