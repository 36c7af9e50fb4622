import { useLiveStatus, useNow, useRuntime } from '../lib/context';
import { formatAgo } from '../lib/format';
import { RefreshCw, WifiOff } from './icons';

/** Shown while the live feed is down (after it was up once, or after a first failed attempt). */
export function OfflineBanner() {
  const s = useLiveStatus();
  const { live } = useRuntime();
  const now = useNow(500);
  const down = s.state !== 'live' && (s.connectedOnce || s.attempt > 0);
  if (!down) return null;
  const secs = s.retryAt ? Math.max(0, Math.ceil((s.retryAt - now) / 1000)) : 0;
  return (
    <div
      role="alert"
      data-testid="offline-banner"
      className="border-b border-red-300 bg-red-50 text-red-900 dark:border-red-900 dark:bg-red-950 dark:text-red-100"
    >
      <div className="mx-auto flex max-w-[1600px] flex-wrap items-center gap-x-3 gap-y-1 px-3 py-2 text-sm sm:px-6">
        <WifiOff className="h-4 w-4 shrink-0" aria-hidden />
        <strong className="font-semibold">Live updates interrupted.</strong>
        <span>
          {s.state === 'connecting' ? 'Reconnecting…' : `Reconnecting in ${secs} s (attempt ${s.attempt}).`} Values shown may be out of date; last
          update {formatAgo(live.lastMessageAt(), now)}.
        </span>
        {s.state === 'offline' && (
          <button type="button" className="ml-auto inline-flex items-center gap-1 rounded-md border border-red-300 px-2 py-1 text-xs font-semibold hover:bg-red-100 dark:border-red-800 dark:hover:bg-red-900" onClick={() => live.reconnectNow()}>
            <RefreshCw className="h-3.5 w-3.5" aria-hidden /> Retry now
          </button>
        )}
      </div>
    </div>
  );
}
