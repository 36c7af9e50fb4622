import type { FleetSnapshot } from '../lib/store';
import { CircleAlert } from './icons';

/** Loading / error / partial-answer notice for views built on the fleet list. */
export function LoadNotice({ fleet }: { fleet: FleetSnapshot }) {
  if (fleet.load === 'loading') return <p className="muted text-sm" role="status">Loading GPUs…</p>;
  if (fleet.error)
    return (
      <p className="flex items-center gap-1.5 text-sm text-red-700 dark:text-red-400" role="alert">
        <CircleAlert className="h-4 w-4" aria-hidden /> Could not load the GPU list: {fleet.error}
      </p>
    );
  if (fleet.partial)
    return (
      <p className="flex items-center gap-1.5 text-sm text-amber-700 dark:text-amber-400" role="status">
        <CircleAlert className="h-4 w-4" aria-hidden /> Partial answer: {fleet.missing.length ? fleet.missing.join(', ') : 'a collector'} did not respond.
      </p>
    );
  return null;
}
