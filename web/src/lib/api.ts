// REST client and URL builders for the gateway. Same-origin by default (the gateway serves the
// app); VITE_GT_API_BASE overrides the origin at build time (`npm run dev` uses Vite's proxy instead).
import type { ApiAggregate, ApiAlertHistory, ApiAlertList, ApiGpu, ApiGpuList, ApiHealth, ApiHostList, ApiStats } from './types';

export const API_BASE: string = (import.meta.env.VITE_GT_API_BASE as string | undefined)?.replace(/\/$/, '') ?? '';

/**
 * The gateway's --token, when it runs with one: given once in the page address
 * (`http://gateway:8081/#token=SECRET` or `?token=SECRET`), kept for the browser session and
 * removed from the address bar. Sent as `Authorization: Bearer` on REST calls and as
 * `?token=` on the WebSocket (browsers cannot set headers there).
 */
export function takeToken(
  loc: Pick<Location, 'hash' | 'search'> = window.location,
  store: Pick<Storage, 'getItem' | 'setItem'> | null = typeof sessionStorage === 'undefined' ? null : sessionStorage,
): string {
  const fromUrl = new URLSearchParams(loc.hash.replace(/^#/, '')).get('token') ?? new URLSearchParams(loc.search).get('token');
  if (fromUrl) {
    store?.setItem('gt-token', fromUrl);
    return fromUrl;
  }
  return store?.getItem('gt-token') ?? '';
}

let token: string | null = null;
function currentToken(): string {
  if (token === null) {
    token = typeof window === 'undefined' ? '' : takeToken();
    if (token && typeof history !== 'undefined' && /token=/.test(window.location.hash + window.location.search)) {
      const u = new URL(window.location.href);
      u.searchParams.delete('token');
      if (/token=/.test(u.hash)) u.hash = '';
      history.replaceState(history.state, '', u.toString());
    }
  }
  return token;
}

export interface TimeWindow {
  id: string;
  label: string;
  ms: number;
  /** Aggregation step; also the resolution live points are merged into. */
  stepMs: number;
}

export const WINDOWS: TimeWindow[] = [
  { id: '5m', label: '5 min', ms: 5 * 60_000, stepMs: 2_000 },
  { id: '15m', label: '15 min', ms: 15 * 60_000, stepMs: 5_000 },
  { id: '1h', label: '1 h', ms: 60 * 60_000, stepMs: 20_000 },
  { id: '24h', label: '24 h', ms: 24 * 60 * 60_000, stepMs: 5 * 60_000 },
];

export function windowById(id: string | null | undefined): TimeWindow {
  return WINDOWS.find((w) => w.id === id) ?? WINDOWS[0];
}

/** A duration in the gateway's syntax: 2s, 5m, 1h (the largest unit that divides it). */
export function durationParam(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

/** ms since epoch -> integer ns since epoch, exact (as a decimal string). */
export function msToNsString(ms: number): string {
  return (BigInt(Math.floor(ms)) * 1_000_000n).toString();
}

export function gpuPath(key: string): string {
  return `/api/v1/gpus/${encodeURIComponent(key)}`;
}

export function aggregateUrl(key: string, metric: string, win: TimeWindow, base = API_BASE): string {
  const q = new URLSearchParams({
    metric,
    since: `-${durationParam(win.ms)}`,
    until: 'now',
    step: durationParam(win.stepMs),
  });
  return `${base}${gpuPath(key)}/aggregate?${q}`;
}

export const CSV_LIMIT = 100000;

/** The telemetry CSV of [sinceMs, untilMs] (oldest first), as the gateway exports it. */
export function csvUrl(key: string, sinceMs: number, untilMs: number, base = API_BASE): string {
  const q = new URLSearchParams({
    format: 'csv',
    since: msToNsString(sinceMs),
    until: msToNsString(untilMs),
    reverse: 'true',
    limit: String(CSV_LIMIT),
  });
  return `${base}${gpuPath(key)}/telemetry?${q}`;
}

/** A file name for a GPU's CSV: keys may hold '/' and ':'. */
export function csvFileName(key: string, win: TimeWindow, untilMs: number): string {
  const safe = key.replace(/[^A-Za-z0-9._-]+/g, '_');
  const stamp = new Date(untilMs).toISOString().replace(/[:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `gpu-${safe}-${win.id}-${stamp}.csv`;
}

/** The WebSocket URL: same origin (ws: or wss:), or derived from VITE_GT_API_BASE. */
export function wsUrl(base = API_BASE, loc: Pick<Location, 'protocol' | 'host'> = window.location, tok = currentToken()): string {
  const q = tok ? `?token=${encodeURIComponent(tok)}` : '';
  if (base) return `${base.replace(/^http/, 'ws')}/ws${q}`;
  return `${loc.protocol === 'https:' ? 'wss:' : 'ws:'}//${loc.host}/ws${q}`;
}

/** True when REST calls need the token (a plain link cannot carry the header). */
export function hasToken(): boolean {
  return currentToken() !== '';
}

/** Downloads url with the token header into a file (for links when the gateway has a token). */
export async function downloadWithToken(url: string, name: string): Promise<void> {
  const res = await fetch(url, { headers: { Authorization: `Bearer ${currentToken()}` } });
  if (!res.ok) throw new ApiError(res.status, `${res.status} ${res.statusText}`);
  const href = URL.createObjectURL(await res.blob());
  const a = document.createElement('a');
  a.href = href;
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(href), 10_000);
}

export class ApiError extends Error {
  status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

async function getJson<T>(path: string, signal?: AbortSignal, okStatuses: number[] = []): Promise<T> {
  const tok = currentToken();
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (tok) headers.Authorization = `Bearer ${tok}`;
  const res = await fetch(`${API_BASE}${path}`, { signal, headers });
  if (!res.ok && !okStatuses.includes(res.status)) {
    let msg = `${res.status} ${res.statusText}`;
    try {
      const body = (await res.json()) as { error?: { message?: string } };
      if (body?.error?.message) msg = `${res.status}: ${body.error.message}`;
    } catch {
      /* not JSON */
    }
    throw new ApiError(res.status, msg);
  }
  return (await res.json()) as T;
}

/** Every GPU, following next_cursor; `partial` when a collector did not answer. */
export async function fetchGpus(signal?: AbortSignal): Promise<{ gpus: ApiGpu[]; partial: boolean; missing: string[] }> {
  const gpus: ApiGpu[] = [];
  let cursor: string | null | undefined;
  let partial = false;
  const missing: string[] = [];
  for (let page = 0; page < 200; page++) {
    const q = cursor ? `?cursor=${encodeURIComponent(cursor)}` : '';
    const body = await getJson<ApiGpuList>(`/api/v1/gpus${q}`, signal);
    gpus.push(...(body.gpus ?? []));
    partial ||= !!body.partial;
    if (body.missing) missing.push(...body.missing);
    cursor = body.next_cursor;
    if (!cursor) break;
  }
  return { gpus, partial, missing };
}

export const fetchHosts = (signal?: AbortSignal) => getJson<ApiHostList>('/api/v1/hosts', signal);
export const fetchHealth = (signal?: AbortSignal) => getJson<ApiHealth>('/health', signal, [503]);
export const fetchStats = (signal?: AbortSignal) => getJson<ApiStats>('/stats', signal);

export async function fetchAggregate(key: string, metric: string, win: TimeWindow, signal?: AbortSignal): Promise<ApiAggregate> {
  const url = aggregateUrl(key, metric, win, '');
  return getJson<ApiAggregate>(url, signal);
}

export const fetchAlerts = (signal?: AbortSignal) => getJson<ApiAlertList>('/api/v1/alerts', signal);
export const fetchAlertHistory = (signal?: AbortSignal, limit = 200) => getJson<ApiAlertHistory>(`/api/v1/alerts/history?limit=${limit}`, signal);
