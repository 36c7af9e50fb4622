import { lazy, Suspense, useEffect, useMemo } from 'react';
import { RuntimeContext } from './lib/context';
import { useRoute } from './lib/router';
import { createRuntime } from './lib/runtime';
import { AlertCount } from './components/AlertBadges';
import { Header, type NavItem } from './components/Header';
import { Bell } from './components/icons';
import { AlertsPage } from './pages/AlertsPage';
import { OfflineBanner } from './components/OfflineBanner';
import { FleetPage } from './pages/FleetPage';
import { IdlePage } from './pages/IdlePage';
import { PipelinePage } from './pages/PipelinePage';
import { NotFound } from './pages/NotFound';

// the chart pages (and Recharts with them) load on first use: the fleet view does not need them
const GpuPage = lazy(() => import('./pages/GpuPage').then((m) => ({ default: m.GpuPage })));
const HostPage = lazy(() => import('./pages/HostPage').then((m) => ({ default: m.HostPage })));

const ALERTS_NAV: NavItem[] = [{ href: '/alerts', label: 'Alerts', icon: Bell, match: (r) => r.page === 'alerts' }];

export function App() {
  const runtime = useMemo(() => createRuntime(), []);
  const route = useRoute();

  useEffect(() => {
    runtime.reloadFleet();
    runtime.reloadAlerts();
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
    case 'alerts':
      page = <AlertsPage />;
      break;
    default:
      page = <NotFound path={route.path} />;
  }

  return (
    <RuntimeContext.Provider value={runtime}>
      <a href="#main" className="sr-only focus:not-sr-only focus:absolute focus:left-2 focus:top-2 focus:z-50 focus:rounded focus:bg-white focus:p-2 dark:focus:bg-slate-900">
        Skip to content
      </a>
      <Header route={route} extraNav={ALERTS_NAV} extraStatus={<AlertCount />} />
      <OfflineBanner />
      <main id="main" className="mx-auto w-full max-w-[1600px] px-3 pb-10 pt-4 sm:px-6">
        <Suspense fallback={<p className="muted text-sm">Loading…</p>}>{page}</Suspense>
      </main>
    </RuntimeContext.Provider>
  );
}
