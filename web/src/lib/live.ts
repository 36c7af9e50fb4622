// The live telemetry feed: one WebSocket to the gateway's /ws, reconnected with jittered,
// capped exponential backoff; the current subscription is sent again on every (re)connect.
// A connection that goes silent for several heartbeat periods is treated as dead.
import { backoffDelay, DEFAULT_BACKOFF, type BackoffOptions } from './backoff';
import type { ApiAlert, ApiAlertList, Subscription, TelemetryRecord } from './types';

export type LiveState = 'connecting' | 'live' | 'offline';

export interface LiveStatus {
  state: LiveState;
  /** the feed was up at least once since the page loaded */
  connectedOnce: boolean;
  /** failed attempts since the last successful connect */
  attempt: number;
  /** when the next attempt starts (ms since epoch), while offline */
  retryAt: number | null;
  /** frames the gateway dropped for us (slow client), summed */
  dropped: number;
  serverVersion: string | null;
}

/** The part of the browser's WebSocket the connection uses (tests pass a fake class). */
export interface WebSocketLike {
  readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onclose: ((ev: unknown) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
}
export type WebSocketCtor = new (url: string) => WebSocketLike;

const OPEN = 1;

export interface LiveOptions {
  url: string;
  WebSocketImpl?: WebSocketCtor;
  backoff?: BackoffOptions;
  rand?: () => number;
  now?: () => number;
  /** silence for this many heartbeat periods closes the connection */
  heartbeatMisses?: number;
  onRecord?: (rec: TelemetryRecord) => void;
  /** after a successful connect that followed a lost connection (not the first one) */
  onReconnect?: () => void;
  /** the alerts snapshot the gateway sends on every connect ({"type":"alerts"}) */
  onAlerts?: (snap: ApiAlertList) => void;
  /** one alert change ({"type":"alert"}), sent to every client whatever its subscription */
  onAlert?: (alert: ApiAlert) => void;
}

export function sameSubscription(a: Subscription | null, b: Subscription | null): boolean {
  if (!a || !b) return a === b;
  const eq = (x: string[], y: string[]) => x.length === y.length && x.every((v, i) => v === y[i]);
  return eq(a.gpus, b.gpus) && eq(a.metrics, b.metrics);
}

type Callbacks = 'onRecord' | 'onReconnect' | 'onAlerts' | 'onAlert';

export class LiveConnection {
  private readonly opts: Required<Omit<LiveOptions, Callbacks>> & Pick<LiveOptions, Callbacks>;
  private ws: WebSocketLike | null = null;
  private sub: Subscription | null = null;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private watchdog: ReturnType<typeof setTimeout> | null = null;
  private pinger: ReturnType<typeof setInterval> | null = null;
  private pings = 0;
  private heartbeatMs = 5000;
  private stopped = true;
  private status: LiveStatus = {
    state: 'offline',
    connectedOnce: false,
    attempt: 0,
    retryAt: null,
    dropped: 0,
    serverVersion: null,
  };
  private lastMessage: number | null = null;
  private listeners = new Set<() => void>();
  private recordListeners = new Set<(rec: TelemetryRecord) => void>();

  constructor(opts: LiveOptions) {
    this.opts = {
      WebSocketImpl: (globalThis as unknown as { WebSocket: WebSocketCtor }).WebSocket,
      backoff: DEFAULT_BACKOFF,
      rand: Math.random,
      now: () => Date.now(),
      heartbeatMisses: 3,
      ...opts,
    };
  }

  getStatus = (): LiveStatus => this.status;

  /** When the last message of any kind arrived (ms since epoch); not part of the status, which
   * would otherwise change with every record. */
  lastMessageAt = (): number | null => this.lastMessage;

  onStatus = (fn: () => void): (() => void) => {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  };

  /** Every record that arrives (after the primary onRecord). */
  onRecord(fn: (rec: TelemetryRecord) => void): () => void {
    this.recordListeners.add(fn);
    return () => this.recordListeners.delete(fn);
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    this.clearTimers();
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      this.detach(ws);
      try {
        ws.close(1000, 'bye');
      } catch {
        /* already closed */
      }
    }
    this.setStatus({ state: 'offline', retryAt: null });
  }

  /** Replaces the subscription; sent now when connected, and on every reconnect. */
  subscribe(sub: Subscription): void {
    if (sameSubscription(this.sub, sub)) return;
    this.sub = { gpus: [...sub.gpus], metrics: [...sub.metrics] };
    this.sendSubscription();
  }

  getSubscription(): Subscription | null {
    return this.sub;
  }

  /** Skip the backoff wait (the "retry now" button, or the browser coming back online). */
  reconnectNow(): void {
    if (this.stopped || this.status.state !== 'offline') return;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.connect();
  }

  private setStatus(patch: Partial<LiveStatus>): void {
    this.status = { ...this.status, ...patch };
    for (const fn of this.listeners) fn();
  }

  private sendSubscription(): void {
    const ws = this.ws;
    if (!ws || ws.readyState !== OPEN || !this.sub) return;
    ws.send(JSON.stringify({ subscribe: this.sub }));
  }

  private clearTimers(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.watchdog) clearTimeout(this.watchdog);
    if (this.pinger) clearInterval(this.pinger);
    this.retryTimer = null;
    this.watchdog = null;
    this.pinger = null;
  }

  /** A {"ping":n} every heartbeat period, so the gateway hears from a client that only listens. */
  private startPinger(): void {
    if (this.pinger) clearInterval(this.pinger);
    this.pinger = setInterval(() => {
      const ws = this.ws;
      if (ws && ws.readyState === OPEN) ws.send(JSON.stringify({ ping: ++this.pings }));
    }, this.heartbeatMs);
  }

  private detach(ws: WebSocketLike): void {
    ws.onopen = ws.onclose = ws.onerror = null;
    ws.onmessage = null;
  }

  private connect(): void {
    this.clearTimers();
    this.setStatus({ state: 'connecting', retryAt: null });
    let ws: WebSocketLike;
    try {
      ws = new this.opts.WebSocketImpl(this.opts.url);
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      if (this.ws !== ws) return;
      const reconnected = this.status.connectedOnce;
      this.lastMessage = this.opts.now();
      this.setStatus({ state: 'live', connectedOnce: true, attempt: 0, retryAt: null });
      this.sendSubscription();
      this.armWatchdog();
      this.startPinger();
      if (reconnected) this.opts.onReconnect?.();
    };
    ws.onmessage = (ev) => {
      if (this.ws !== ws) return;
      this.armWatchdog();
      this.handleMessage(ev.data);
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.lost();
    };
    ws.onerror = () => {
      /* a close event follows */
    };
  }

  private lost(): void {
    const ws = this.ws;
    this.ws = null;
    if (ws) this.detach(ws);
    if (this.stopped) return;
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    this.clearTimers();
    const delay = backoffDelay(this.status.attempt, this.opts.backoff, this.opts.rand);
    this.setStatus({ state: 'offline', attempt: this.status.attempt + 1, retryAt: this.opts.now() + delay });
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (!this.stopped) this.connect();
    }, delay);
  }

  private armWatchdog(): void {
    if (this.watchdog) clearTimeout(this.watchdog);
    const ws = this.ws;
    this.watchdog = setTimeout(() => {
      this.watchdog = null;
      if (this.ws !== ws || !ws) return;
      try {
        ws.close(4000, 'heartbeat timeout');
      } catch {
        /* ignore */
      }
      this.lost();
    }, this.heartbeatMs * this.opts.heartbeatMisses);
  }

  private handleMessage(data: unknown): void {
    if (typeof data !== 'string') return;
    let msg: { type?: string; [k: string]: unknown };
    try {
      msg = JSON.parse(data);
    } catch {
      return;
    }
    this.lastMessage = this.opts.now();
    switch (msg.type) {
      case 'record': {
        const rec = msg as unknown as TelemetryRecord;
        if (typeof rec.gpu_key !== 'string') return;
        this.opts.onRecord?.(rec);
        for (const fn of this.recordListeners) fn(rec);
        return;
      }
      case 'hello': {
        const hb = Number(msg.heartbeat_ms);
        if (Number.isFinite(hb) && hb >= 100) {
          this.heartbeatMs = hb;
          this.armWatchdog();
          this.startPinger();
        }
        this.setStatus({ serverVersion: typeof msg.version === 'string' ? msg.version : null });
        return;
      }
      case 'dropped': {
        const n = Number(msg.count);
        this.setStatus({ dropped: this.status.dropped + (Number.isFinite(n) ? n : 0) });
        return;
      }
      case 'alerts': {
        if (Array.isArray(msg.alerts)) this.opts.onAlerts?.(msg as unknown as ApiAlertList);
        return;
      }
      case 'alert': {
        if (typeof msg.rule === 'string' && typeof msg.state === 'string') {
          const { type: _type, ...alert } = msg;
          this.opts.onAlert?.(alert as unknown as ApiAlert);
        }
        return;
      }
      case 'heartbeat':
      case 'pong':
        return;
      case 'error':
        console.warn('gateway websocket error:', msg.message);
        return;
      default:
        return; // future message types are ignored
    }
  }
}
