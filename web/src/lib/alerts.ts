// Alerts: the gateway's current alerts and recent changes, kept by a pure reducer.
// Sources, all in the gateway's Alert JSON: the WebSocket snapshot sent on every connect
// ({"type":"alerts"}), one {"type":"alert"} frame per change, and at start/reconnect one GET of
// /api/v1/alerts and /api/v1/alerts/history (which may race with the socket: `seq` decides).
import type { ApiAlert, ApiAlertHistory, ApiAlertList, AlertSeverity } from './types';

/** Changes kept for the history list (newest first). */
export const HISTORY_MAX = 200;

export interface AlertMark {
  /** worst severity among the firing alerts */
  severity: AlertSeverity;
  firing: number;
  pending: number;
  /** the rules firing or pending, for the badge text and tooltip */
  rules: string[];
}

export interface AlertsState {
  /** current alerts (pending or firing) by alertId */
  current: ReadonlyMap<string, ApiAlert>;
  /** changes, newest first, each once (by seq and time: a restarted gateway numbers from 0 again) */
  history: readonly ApiAlert[];
  /** the highest seq applied; -1 before anything */
  lastSeq: number;
  /** a snapshot (WS or REST) arrived since the page loaded */
  loaded: boolean;
  firing: number;
  pending: number;
  /** the worst severity among the firing alerts; null when none fires */
  worst: AlertSeverity | null;
  /** by GPU key and by UUID */
  byGpu: ReadonlyMap<string, AlertMark>;
  byHost: ReadonlyMap<string, AlertMark>;
}

export type AlertsAction =
  /** the WS snapshot of a (re)connect: authoritative, also after a gateway restart (seqs restart) */
  | { type: 'snapshot'; body: ApiAlertList; source: 'ws' }
  /** GET /api/v1/alerts: applied unless the state already holds newer changes */
  | { type: 'snapshot'; body: ApiAlertList; source: 'rest' }
  | { type: 'history'; body: ApiAlertHistory }
  | { type: 'change'; alert: ApiAlert }
  /** the socket was lost and is back: the next snapshot replaces everything, whatever its seq */
  | { type: 'reconnect' };

export const alertId = (a: Pick<ApiAlert, 'rule' | 'gpu' | 'uuid' | 'hostname'>): string =>
  `${a.rule}\u0000${a.gpu || a.uuid || a.hostname || ''}`;

const SEV_RANK: Record<string, number> = { critical: 3, warning: 2, info: 1 };
export const severityRank = (s: string | undefined): number => SEV_RANK[s ?? ''] ?? 0;
export const worseSeverity = (a: AlertSeverity, b: AlertSeverity): AlertSeverity => (severityRank(b) > severityRank(a) ? b : a);

const isCurrent = (a: ApiAlert) => a.state === 'firing' || a.state === 'pending';
const seqOf = (a: ApiAlert) => (typeof a.seq === 'number' && Number.isFinite(a.seq) ? a.seq : -1);
const valid = (a: unknown): a is ApiAlert => !!a && typeof a === 'object' && typeof (a as ApiAlert).rule === 'string' && typeof (a as ApiAlert).state === 'string';

export function initialAlerts(): AlertsState {
  return derive({ current: new Map(), history: [], lastSeq: -1, loaded: false, epochFresh: false });
}

interface Core {
  current: ReadonlyMap<string, ApiAlert>;
  history: readonly ApiAlert[];
  lastSeq: number;
  loaded: boolean;
  /** set by 'reconnect' until the next WS snapshot: a REST answer may then carry lower seqs
   * (a restarted gateway numbers its changes from 0 again) */
  epochFresh: boolean;
}

type Internal = AlertsState & { epochFresh: boolean };

export function reduceAlerts(state: AlertsState, action: AlertsAction): AlertsState {
  const s = state as Internal;
  const core: Core = { current: s.current, history: s.history, lastSeq: s.lastSeq, loaded: s.loaded, epochFresh: !!s.epochFresh };
  switch (action.type) {
    case 'reconnect':
      return derive({ ...core, epochFresh: true });
    case 'snapshot': {
      const body = action.body ?? ({} as ApiAlertList);
      const list = Array.isArray(body.alerts) ? body.alerts.filter(valid) : [];
      const last = typeof body.last_seq === 'number' ? body.last_seq : Math.max(-1, ...list.map(seqOf));
      // a REST answer older than what the socket already delivered is dropped
      if (action.source === 'rest' && last < core.lastSeq && !core.epochFresh) return state;
      const current = new Map<string, ApiAlert>();
      for (const a of list) if (isCurrent(a)) current.set(alertId(a), a);
      return derive({ ...core, current, lastSeq: last, loaded: true, epochFresh: action.source === 'rest' && core.epochFresh });
    }
    case 'history': {
      const list = Array.isArray(action.body?.alerts) ? action.body.alerts.filter(valid) : [];
      const history = mergeHistory(core.history, list);
      return history === core.history ? state : derive({ ...core, history });
    }
    case 'change': {
      const a = action.alert;
      if (!valid(a)) return state;
      const seq = seqOf(a);
      const history = mergeHistory(core.history, [a]);
      let current = core.current;
      // a change at or below the snapshot's last_seq is already in the snapshot
      if ((seq < 0 || seq > core.lastSeq) && a.state !== 'event') {
        const id = alertId(a);
        const prev = current.get(id);
        if (!prev || seq < 0 || seqOf(prev) <= seq) {
          const next = new Map(current);
          if (isCurrent(a)) next.set(id, a);
          else next.delete(id); // resolved
          current = next;
        }
      }
      if (current === core.current && history === core.history) return state;
      return derive({ ...core, current, history, lastSeq: Math.max(core.lastSeq, seq) });
    }
    default:
      return state;
  }
}

/** History identity: seq plus time (seqs restart with a restarted gateway; its past stays ours). */
const histKey = (a: ApiAlert) => `${seqOf(a)}:${a.since_ns ?? a.since ?? ''}:${alertId(a)}:${a.state}`;
const histTime = (a: ApiAlert) => alertSinceMs(a) ?? 0;

/** Union (new entries only), newest first, capped; `a` itself when nothing is new. */
function mergeHistory(a: readonly ApiAlert[], b: readonly ApiAlert[]): readonly ApiAlert[] {
  const seen = new Set(a.map(histKey));
  const add = b.filter((x) => {
    const k = histKey(x);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
  if (!add.length) return a;
  const out = [...a, ...add].sort((x, y) => histTime(y) - histTime(x) || seqOf(y) - seqOf(x));
  return out.length > HISTORY_MAX ? out.slice(0, HISTORY_MAX) : out;
}

function mark(m: Map<string, AlertMark>, key: string | undefined, a: ApiAlert) {
  if (!key) return;
  const cur = m.get(key) ?? { severity: 'info' as AlertSeverity, firing: 0, pending: 0, rules: [] };
  const next = { ...cur, rules: cur.rules.includes(a.rule) ? cur.rules : [...cur.rules, a.rule] };
  if (a.state === 'firing') {
    next.severity = next.firing ? worseSeverity(cur.severity, a.severity) : a.severity;
    next.firing++;
  } else next.pending++;
  m.set(key, next);
}

function derive(c: Core): Internal {
  let firing = 0;
  let pending = 0;
  let worst: AlertSeverity | null = null;
  const byGpu = new Map<string, AlertMark>();
  const byHost = new Map<string, AlertMark>();
  for (const a of c.current.values()) {
    if (a.state === 'firing') {
      firing++;
      worst = worst ? worseSeverity(worst, a.severity) : a.severity;
    } else pending++;
    mark(byGpu, a.gpu, a);
    if (a.uuid && a.uuid !== a.gpu) mark(byGpu, a.uuid, a);
    mark(byHost, a.hostname || hostOfKey(a.gpu), a);
  }
  return { current: c.current, history: c.history, lastSeq: c.lastSeq, loaded: c.loaded, epochFresh: c.epochFresh, firing, pending, worst, byGpu, byHost };
}

/** "host-a/0" -> "host-a" (keys of the host/index form), else undefined. */
function hostOfKey(key: string | undefined): string | undefined {
  if (!key) return undefined;
  const i = key.lastIndexOf('/');
  return i > 0 ? key.slice(0, i) : undefined;
}

/** Current alerts in the contract's order: firing first, then pending; worst severity, then oldest. */
export function sortedCurrent(s: AlertsState): ApiAlert[] {
  return [...s.current.values()].sort(
    (a, b) =>
      (a.state === 'firing' ? 0 : 1) - (b.state === 'firing' ? 0 : 1) ||
      severityRank(b.severity) - severityRank(a.severity) ||
      (a.since_ns ?? 0) - (b.since_ns ?? 0) ||
      alertId(a).localeCompare(alertId(b)),
  );
}

/** A GPU's mark (by key, then UUID). */
export function gpuMark(s: AlertsState, key: string, uuid?: string): AlertMark | undefined {
  return s.byGpu.get(key) ?? (uuid ? s.byGpu.get(uuid) : undefined);
}

/** ms since epoch of an alert's `since` (since_ns preferred). */
export function alertSinceMs(a: ApiAlert): number | null {
  if (typeof a.since_ns === 'number' && a.since_ns > 0) return a.since_ns / 1e6;
  if (a.since) {
    const t = Date.parse(a.since);
    if (Number.isFinite(t)) return t;
  }
  return null;
}

/** The store the views subscribe to (useSyncExternalStore); alerts are rare, so no throttling. */
export class AlertStore {
  private state: AlertsState = initialAlerts();
  private listeners = new Set<() => void>();

  subscribe = (fn: () => void): (() => void) => {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  };

  getSnapshot = (): AlertsState => this.state;

  dispatch(action: AlertsAction): void {
    const next = reduceAlerts(this.state, action);
    if (next === this.state) return;
    this.state = next;
    for (const fn of this.listeners) fn();
  }
}
