import { useLiveStatus, useNow, useRuntime } from '../lib/context';
import { formatAgo } from '../lib/format';
import { Wifi, WifiOff } from './icons';

/** Live / connecting / offline, always visible in the header. */
export function LiveIndicator() {
  const s = useLiveStatus();
  const { live } = useRuntime();
  const now = useNow(1000);
  const label = s.state === 'live' ? 'Live' : s.state === 'connecting' ? 'Connecting' : 'Offline';
  const tone =
    s.state === 'live'
      ? 'border-emerald-300 bg-emerald-50 text-emerald-800 dark:border-emerald-800 dark:bg-emerald-950 dark:text-emerald-300'
      : s.state === 'connecting'
        ? 'border-amber-300 bg-amber-50 text-amber-800 dark:border-amber-800 dark:bg-amber-950 dark:text-amber-300'
        : 'border-red-300 bg-red-50 text-red-800 dark:border-red-800 dark:bg-red-950 dark:text-red-300';
  const title =
    s.state === 'live'
      ? `Live updates over WebSocket; last message ${formatAgo(live.lastMessageAt(), now)}`
      : `No live updates; last message ${formatAgo(live.lastMessageAt(), now)}`;
  return (
    <span
      role="status"
      data-testid="live-indicator"
      data-state={s.state}
      title={title}
      className={`inline-flex h-8 items-center gap-1.5 rounded-full border px-2.5 text-xs font-semibold ${tone}`}
    >
      {s.state === 'live' ? (
        <span className="inline-flex h-2 w-2 rounded-full bg-emerald-500 ring-2 ring-emerald-500/30" aria-hidden />
      ) : s.state === 'connecting' ? (
        <Wifi className="h-3.5 w-3.5" aria-hidden />
      ) : (
        <WifiOff className="h-3.5 w-3.5" aria-hidden />
      )}
      {label}
    </span>
  );
}
