// The app's runtime objects (fleet store, live connection), shared through React context so that
// components can be rendered in tests with their own instances.
import { createContext, useContext, useEffect, useState, useSyncExternalStore } from 'react';
import type { AlertStore, AlertsState } from './alerts';
import type { LiveConnection, LiveStatus } from './live';
import type { FleetSnapshot, FleetStore } from './store';
import type { Subscription } from './types';

export interface Runtime {
  store: FleetStore;
  live: LiveConnection;
  /** current alerts and recent changes, fed by the live connection */
  alerts: AlertStore;
  /** reloads the GPU list by REST (after a reconnect, or when a view widens its subscription) */
  reloadFleet: () => void;
}

export const RuntimeContext = createContext<Runtime | null>(null);

export function useRuntime(): Runtime {
  const r = useContext(RuntimeContext);
  if (!r) throw new Error('RuntimeContext missing');
  return r;
}

export function useFleet(): FleetSnapshot {
  const { store } = useRuntime();
  return useSyncExternalStore(store.subscribe, store.getSnapshot);
}

export function useAlerts(): AlertsState {
  const { alerts } = useRuntime();
  return useSyncExternalStore(alerts.subscribe, alerts.getSnapshot);
}

export function useLiveStatus(): LiveStatus {
  const { live } = useRuntime();
  return useSyncExternalStore(live.onStatus, live.getStatus);
}

/** Declares what the current view needs over the WebSocket; replaces the previous subscription. */
export function useSubscription(gpus: string[] | null, metrics: string[]): void {
  const { live, reloadFleet } = useRuntime();
  const gk = gpus ? gpus.join('\u0000') : null;
  const mk = metrics.join('\u0000');
  useEffect(() => {
    if (gk === null) return;
    const next: Subscription = { gpus: gk ? gk.split('\u0000') : [], metrics: mk ? mk.split('\u0000') : [] };
    const prev = live.getSubscription();
    live.subscribe(next);
    // a wider view after a narrower one (all GPUs after one GPU's page): what the narrower
    // subscription did not carry is refreshed once by REST
    if (prev && widens(prev, next)) reloadFleet();
  }, [live, reloadFleet, gk, mk]);
}

/** Whether `next` covers GPUs or metrics that `prev` did not. */
export function widens(prev: Subscription, next: Subscription): boolean {
  const all = (l: string[]) => l.includes('*');
  const gpusWider = all(next.gpus) ? !all(prev.gpus) : next.gpus.some((g) => !all(prev.gpus) && !prev.gpus.includes(g));
  const metricsWider = next.metrics.length === 0 ? prev.metrics.length > 0 : prev.metrics.length > 0 && next.metrics.some((m) => !prev.metrics.includes(m));
  return gpusWider || metricsWider;
}

/** The current time, refreshed every `everyMs` (ages, staleness, chart x-domains). */
export function useNow(everyMs = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const id = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(id);
  }, [everyMs]);
  return now;
}
