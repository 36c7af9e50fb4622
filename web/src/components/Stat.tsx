import type { ReactNode } from 'react';

const tones = {
  none: '',
  ok: 'text-emerald-700 dark:text-emerald-400',
  warn: 'text-amber-700 dark:text-amber-400',
  crit: 'text-red-700 dark:text-red-400',
};

/** A labelled figure (fleet totals, pipeline figures). */
export function Stat({
  label,
  value,
  hint,
  tone = 'none',
  testid,
  icon,
}: {
  label: string;
  value: ReactNode;
  hint?: ReactNode;
  tone?: keyof typeof tones;
  testid?: string;
  icon?: ReactNode;
}) {
  return (
    <div className="card min-w-0 px-3 py-2.5" data-testid={testid}>
      <div className="muted flex items-center gap-1.5 text-xs font-medium">
        {icon}
        {label}
      </div>
      <div className={`mt-0.5 truncate text-lg font-semibold ${tones[tone]}`} data-value>
        {value}
      </div>
      {hint !== undefined && <div className="muted truncate text-xs">{hint}</div>}
    </div>
  );
}
