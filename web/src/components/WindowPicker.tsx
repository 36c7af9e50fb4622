import { WINDOWS } from '../lib/api';

/** 5 min / 15 min / 1 h / 24 h, as a group of toggle buttons. */
export function WindowPicker({ value, onChange }: { value: string; onChange: (id: string) => void }) {
  return (
    <div role="group" aria-label="Time window" className="inline-flex overflow-hidden rounded-md border border-slate-300 dark:border-slate-700" data-testid="window-picker">
      {WINDOWS.map((w) => (
        <button
          key={w.id}
          type="button"
          aria-pressed={w.id === value}
          data-window={w.id}
          onClick={() => onChange(w.id)}
          className={`h-9 px-3 text-sm font-medium focus-visible:z-10 ${
            w.id === value ? 'bg-sky-600 text-white' : 'bg-white text-slate-700 hover:bg-slate-100 dark:bg-slate-900 dark:text-slate-200 dark:hover:bg-slate-800'
          } border-r border-slate-300 last:border-r-0 dark:border-slate-700`}
        >
          {w.label}
        </button>
      ))}
    </div>
  );
}
