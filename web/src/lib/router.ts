// A small history-API router: /, /host/<name>, /gpu/<key>, /idle, /pipeline, /alerts. Keys may contain '/',
// so they travel percent-encoded (encodeURIComponent) and everything after /gpu/ is the key.
import { useSyncExternalStore } from 'react';

export type Route =
  | { page: 'fleet' }
  | { page: 'host'; host: string }
  | { page: 'gpu'; key: string }
  | { page: 'idle' }
  | { page: 'pipeline' }
  | { page: 'alerts' }
  | { page: 'notfound'; path: string };

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

export function parseRoute(pathname: string): Route {
  const p = pathname.replace(/\/+$/, '') || '/';
  if (p === '/') return { page: 'fleet' };
  if (p === '/idle') return { page: 'idle' };
  if (p === '/pipeline') return { page: 'pipeline' };
  if (p === '/alerts') return { page: 'alerts' };
  if (p.startsWith('/gpu/') && p.length > 5) return { page: 'gpu', key: safeDecode(p.slice(5)) };
  if (p.startsWith('/host/') && p.length > 6) return { page: 'host', host: safeDecode(p.slice(6)) };
  return { page: 'notfound', path: pathname };
}

export const gpuHref = (key: string) => `/gpu/${encodeURIComponent(key)}`;
export const hostHref = (host: string) => `/host/${encodeURIComponent(host)}`;

const listeners = new Set<() => void>();
const notify = () => listeners.forEach((fn) => fn());
if (typeof window !== 'undefined') window.addEventListener('popstate', notify);

export function navigate(href: string, replace = false): void {
  const cur = window.location.pathname + window.location.search;
  if (href === cur) return;
  if (replace) window.history.replaceState(null, '', href);
  else window.history.pushState(null, '', href);
  notify();
  if (!replace) window.scrollTo(0, 0);
}

function subscribe(fn: () => void) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

export function useLocation(): { pathname: string; search: string } {
  const pathname = useSyncExternalStore(subscribe, () => window.location.pathname);
  const search = useSyncExternalStore(subscribe, () => window.location.search);
  return { pathname, search };
}

export function useRoute(): Route {
  return parseRoute(useLocation().pathname);
}

/** Updates one query parameter without a history entry (filters, window choice). */
export function setQueryParam(name: string, value: string | null): void {
  const u = new URL(window.location.href);
  if (value === null || value === '') u.searchParams.delete(name);
  else u.searchParams.set(name, value);
  navigate(u.pathname + u.search, true);
}
