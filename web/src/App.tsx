import { lazy, Suspense, useEffect, useMemo } from 'react';
import { fetchGpus, fetchHosts, wsUrl } from './lib/api';
import { RuntimeContext, type Runtime } from './lib/context';
import { LiveConnection } from './lib/live';
import { useRoute } from './lib/router';
import { FleetStore } from './lib/store';
import { Header } from './components/Header';
import { OfflineBanner } from './components/OfflineBanner';
import { FleetPage } from './pages/FleetPage';
import { IdlePage } from './pages/IdlePage';
import { PipelinePage } from './pages/PipelinePage';
import { NotFound } from './pages/NotFound';

// the chart pages (and Recharts with them) load on first use: the fleet view does not need them
const GpuPage = lazy(() => import('./pages/GpuPage').then((m) => ({ default: m.GpuPage })));
const HostPage = lazy(() => import('./pages/HostPage').then((m) => ({ default: m.HostPage })));

function createRuntime(): Runtime {
  const store = new FleetStore();
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
    url: wsUrl(),
    onRecord: (rec) => store.applyRecord(rec),
    // records may have been missed while offline: one REST reload brings the latest values back
    onReconnect: reloadFleet,
  });
  return { store, live, reloadFleet };
}

export function App() {
  const runtime = useMemo(createRuntime, []);
  const route = useRoute();

  useEffect(() => {
    runtime.reloadFleet();
    runtime.live.start();
    const online = () => runtime.live.reconnectNow();
    window.addEventListener('online', online);
    return () => {
      window.removeEventListener('online', online);
      runtime.live.stop();
    };
  }, [runtime]);

  let page;
  switch (route.page) {
    case 'fleet':
      page = <FleetPage />;
      break;
    case 'host':
      page = <HostPage host={route.host} />;
      break;
    case 'gpu':
      page = <GpuPage key={route.key} gpuKey={route.key} />;
      break;
    case 'idle':
      page = <IdlePage />;
      break;
    case 'pipeline':
      page = <PipelinePage />;
      break;
    default:
      page = <NotFound path={route.path} />;
  }

  return (
    <RuntimeContext.Provider value={runtime}>
      <a href="#main" className="sr-only focus:not-sr-only focus:absolute focus:left-2 focus:top-2 focus:z-50 focus:rounded focus:bg-white focus:p-2 dark:focus:bg-slate-900">
        Skip to content
      </a>
      <Header route={route} />
      <OfflineBanner />
      <main id="main" className="mx-auto w-full max-w-[1600px] px-3 pb-10 pt-4 sm:px-6">
        <Suspense fallback={<p className="muted text-sm">Loading…</p>}>{page}</Suspense>
      </main>
    </RuntimeContext.Provider>
  );
}
