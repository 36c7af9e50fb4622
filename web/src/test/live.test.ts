import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LiveConnection, sameSubscription, type WebSocketLike } from '../lib/live';
import type { TelemetryRecord } from '../lib/types';

/** A fake WebSocket (test only): records what was sent, lets the test open/close/deliver. */
class FakeSocket implements WebSocketLike {
  static all: FakeSocket[] = [];
  static get last(): FakeSocket {
    return FakeSocket.all[FakeSocket.all.length - 1];
  }
  readyState = 0;
  sent: string[] = [];
  closed = false;
  onopen: ((ev: unknown) => void) | null = null;
  onclose: ((ev: unknown) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  constructor(public url: string) {
    FakeSocket.all.push(this);
  }
  send(data: string) {
    if (this.readyState !== 1) throw new Error('not open');
    this.sent.push(data);
  }
  close() {
    this.closed = true;
    this.readyState = 3;
  }
  // test drivers
  open() {
    this.readyState = 1;
    this.onopen?.({});
  }
  drop() {
    this.readyState = 3;
    this.onerror?.({});
    this.onclose?.({ code: 1006 });
  }
  deliver(msg: unknown) {
    this.onmessage?.({ data: JSON.stringify(msg) });
  }
}

const subs = (s: FakeSocket) => s.sent.map((m) => JSON.parse(m)).filter((m) => m.subscribe);
const pings = (s: FakeSocket) => s.sent.map((m) => JSON.parse(m)).filter((m) => 'ping' in m);

describe('LiveConnection', () => {
  let records: TelemetryRecord[];
  let reconnects: number;
  let conn: LiveConnection;

  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(1_000_000);
    FakeSocket.all = [];
    records = [];
    reconnects = 0;
    conn = new LiveConnection({
      url: 'ws://gw/ws',
      WebSocketImpl: FakeSocket,
      rand: () => 0, // lower edge of the jitter: delays are ceiling/2
      backoff: { baseMs: 1000, capMs: 8000, factor: 2 },
      onRecord: (r) => records.push(r),
      onReconnect: () => reconnects++,
    });
  });
  afterEach(() => {
    conn.stop();
    vi.useRealTimers();
  });

  it('sends the subscription once open, and a new one replaces it', () => {
    conn.subscribe({ gpus: ['*'], metrics: ['temperature'] });
    conn.start();
    expect(conn.getStatus().state).toBe('connecting');
    expect(FakeSocket.last.url).toBe('ws://gw/ws');
    FakeSocket.last.open();
    expect(conn.getStatus().state).toBe('live');
    expect(subs(FakeSocket.last)).toEqual([{ subscribe: { gpus: ['*'], metrics: ['temperature'] } }]);
    conn.subscribe({ gpus: ['*'], metrics: ['temperature'] }); // same: not sent again
    conn.subscribe({ gpus: ['GPU-1'], metrics: [] });
    expect(subs(FakeSocket.last)).toEqual([
      { subscribe: { gpus: ['*'], metrics: ['temperature'] } },
      { subscribe: { gpus: ['GPU-1'], metrics: [] } },
    ]);
  });

  it('delivers records and counts drops; ignores junk', () => {
    conn.start();
    FakeSocket.last.open();
    FakeSocket.last.deliver({ type: 'hello', version: '1.2.3', heartbeat_ms: 5000 });
    FakeSocket.last.deliver({ type: 'record', gpu_key: 'GPU-1', timestamp_ns: 1, metrics: { temperature: 50 } });
    FakeSocket.last.deliver({ type: 'record', metrics: {} }); // no key
    FakeSocket.last.onmessage?.({ data: 'not json' });
    FakeSocket.last.deliver({ type: 'dropped', count: 7 });
    FakeSocket.last.deliver({ type: 'alert', name: 'later' });
    expect(records.map((r) => r.gpu_key)).toEqual(['GPU-1']);
    expect(conn.getStatus().dropped).toBe(7);
    expect(conn.getStatus().serverVersion).toBe('1.2.3');
  });

  it('hands alert snapshots and changes to their callbacks, whatever the subscription', () => {
    const snaps: unknown[] = [];
    const changes: unknown[] = [];
    const c = new LiveConnection({ url: 'ws://gw/ws', WebSocketImpl: FakeSocket, onAlerts: (s) => snaps.push(s), onAlert: (a) => changes.push(a) });
    c.subscribe({ gpus: ['GPU-1'], metrics: ['temperature'] });
    c.start();
    FakeSocket.last.open();
    FakeSocket.last.deliver({ type: 'alerts', alerts: [], firing: 0, pending: 0, last_seq: 4 });
    FakeSocket.last.deliver({ type: 'alert', seq: 5, rule: 'hot', state: 'firing', severity: 'critical', gpu: 'GPU-9' });
    FakeSocket.last.deliver({ type: 'alert', name: 'junk' }); // no rule/state: ignored
    FakeSocket.last.deliver({ type: 'alerts', alerts: 'nope' }); // not a list: ignored
    expect(snaps).toEqual([{ type: 'alerts', alerts: [], firing: 0, pending: 0, last_seq: 4 }]);
    expect(changes).toEqual([{ seq: 5, rule: 'hot', state: 'firing', severity: 'critical', gpu: 'GPU-9' }]);
    c.stop();
  });

  it('reconnects with capped exponential backoff and restores the subscription', () => {
    conn.subscribe({ gpus: ['*'], metrics: ['utilization'] });
    conn.start();
    FakeSocket.last.open();
    FakeSocket.last.drop();
    expect(conn.getStatus().state).toBe('offline');
    expect(conn.getStatus().attempt).toBe(1);

    // attempt n waits ceiling(n)/2 with rand()=0: 500, 1000, 2000, 4000, 4000 (cap 8000 / 2)
    const waits = [500, 1000, 2000, 4000, 4000];
    for (const w of waits) {
      const before = FakeSocket.all.length;
      expect(conn.getStatus().retryAt).toBe(Date.now() + w);
      vi.advanceTimersByTime(w - 1);
      expect(FakeSocket.all.length).toBe(before); // not yet
      vi.advanceTimersByTime(1);
      expect(FakeSocket.all.length).toBe(before + 1);
      expect(conn.getStatus().state).toBe('connecting');
      FakeSocket.last.drop(); // refused again
    }
    expect(conn.getStatus().attempt).toBe(6);

    vi.advanceTimersByTime(4000);
    const s = FakeSocket.last;
    s.open();
    expect(conn.getStatus()).toMatchObject({ state: 'live', attempt: 0, connectedOnce: true });
    expect(subs(s)).toEqual([{ subscribe: { gpus: ['*'], metrics: ['utilization'] } }]);
    expect(reconnects).toBe(1);

    // after a success the backoff starts over
    s.drop();
    expect(conn.getStatus().retryAt).toBe(Date.now() + 500);
  });

  it('treats a silent connection as dead after missed heartbeats', () => {
    conn.start();
    const s = FakeSocket.last;
    s.open();
    s.deliver({ type: 'hello', heartbeat_ms: 1000 });
    vi.advanceTimersByTime(2500);
    s.deliver({ type: 'heartbeat', timestamp_ns: 1 });
    vi.advanceTimersByTime(2999);
    expect(conn.getStatus().state).toBe('live');
    vi.advanceTimersByTime(1);
    expect(s.closed).toBe(true);
    expect(conn.getStatus().state).toBe('offline');
    vi.advanceTimersByTime(500);
    expect(FakeSocket.all.length).toBe(2);
  });

  it('pings every heartbeat period while open', () => {
    conn.start();
    const s = FakeSocket.last;
    s.open();
    s.deliver({ type: 'hello', heartbeat_ms: 1000 });
    for (let i = 0; i < 3; i++) {
      vi.advanceTimersByTime(1000);
      s.deliver({ type: 'pong', ping: i + 1 });
    }
    expect(pings(s)).toEqual([{ ping: 1 }, { ping: 2 }, { ping: 3 }]);
    expect(conn.getStatus().state).toBe('live');
  });

  it('reconnectNow skips the wait; stop() stops retrying', () => {
    conn.start();
    FakeSocket.last.drop();
    conn.reconnectNow();
    expect(FakeSocket.all.length).toBe(2);
    FakeSocket.last.drop();
    conn.stop();
    vi.advanceTimersByTime(60_000);
    expect(FakeSocket.all.length).toBe(2);
    expect(conn.getStatus().state).toBe('offline');
  });

  it('events of a replaced socket are ignored', () => {
    conn.start();
    const first = FakeSocket.last;
    first.drop();
    vi.advanceTimersByTime(500);
    const second = FakeSocket.last;
    second.open();
    first.onmessage?.({ data: JSON.stringify({ type: 'record', gpu_key: 'old' }) });
    expect(records).toEqual([]);
    expect(conn.getStatus().state).toBe('live');
  });

  it('compares subscriptions by value', () => {
    expect(sameSubscription({ gpus: ['a'], metrics: [] }, { gpus: ['a'], metrics: [] })).toBe(true);
    expect(sameSubscription({ gpus: ['a'], metrics: [] }, { gpus: ['b'], metrics: [] })).toBe(false);
    expect(sameSubscription(null, { gpus: [], metrics: [] })).toBe(false);
  });
});
