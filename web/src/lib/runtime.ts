// The app's runtime: the fleet store and the alert store, both fed by one live connection, plus
// the REST loads done at start and after every reconnect (never periodically).
import { AlertStore } from './alerts';
import { fetchAlertHistory, fetchAlerts, fetchGpus, fetchHosts, wsUrl } from './api';
import type { Runtime } from './context';
import { LiveConnection, type WebSocketCtor } from './live';
import { FleetStore } from './store';

/** One GET of the current alerts and of the recent changes (start and every reconnect); the
 * socket's own snapshot and change frames keep them current after that. */
function loadAlerts(alerts: AlertStore, signal?: AbortSignal): Promise<void> {
  const cur = fetchAlerts(signal).then((body) => alerts.dispatch({ type: 'snapshot', source: 'rest', body }));
  const hist = fetchAlertHistory(signal).then((body) => alerts.dispatch({ type: 'history', body }));
  // a gateway without alerts (older build) answers 404: the dashboard simply shows none
  return Promise.allSettled([cur, hist]).then(() => undefined);
}

export interface AppRuntime extends Runtime {
  /** GET /api/v1/alerts and /api/v1/alerts/history once (start; every reconnect does it too) */
  reloadAlerts: () => void;
}

/** The app's fleet store, alert store and live connection, wired together. */
export function createRuntime(opts: { url?: string; WebSocketImpl?: WebSocketCtor } = {}): AppRuntime {
  const store = new FleetStore();
  const alerts = new AlertStore();
  let alertsInflight: AbortController | null = null;
  const reloadAlerts = () => {
    alertsInflight?.abort();
    alertsInflight = new AbortController();
    void loadAlerts(alerts, alertsInflight.signal);
  };
  let inflight: AbortController | null = null;
  const reloadFleet = () => {
    inflight?.abort();
    const ac = (inflight = new AbortController());
    Promise.all([fetchGpus(ac.signal), fetchHosts(ac.signal).catch(() => null)])
      .then(([list, hosts]) => store.load(list.gpus, hosts?.hosts ?? null, list.partial, list.missing))
      .catch((e: unknown) => {
        if (!ac.signal.aborted) store.setError(e instanceof Error ? e.message : String(e));
      });
  };
  const live = new LiveConnection({
    url: opts.url ?? wsUrl(),
    ...(opts.WebSocketImpl ? { WebSocketImpl: opts.WebSocketImpl } : {}),
    onRecord: (rec) => store.applyRecord(rec),
    onAlerts: (body) => alerts.dispatch({ type: 'snapshot', source: 'ws', body }),
    onAlert: (alert) => alerts.dispatch({ type: 'change', alert }),
    // records may have been missed while offline: one REST reload brings the latest values back
    onReconnect: () => {
      alerts.dispatch({ type: 'reconnect' });
      reloadFleet();
      reloadAlerts();
    },
  });
  return { store, live, alerts, reloadFleet, reloadAlerts };
}

