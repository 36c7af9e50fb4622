import { nextTheme, useTheme } from '../lib/theme';
import { Monitor, Moon, Sun } from './icons';

export function ThemeToggle() {
  const [choice, , setChoice] = useTheme();
  const Icon = choice === 'light' ? Sun : choice === 'dark' ? Moon : Monitor;
  const label = `Theme: ${choice === 'system' ? 'system' : choice}. Switch to ${nextTheme(choice)}`;
  return (
    <button
      type="button"
      onClick={() => setChoice(nextTheme(choice))}
      aria-label={label}
      title={label}
      data-testid="theme-toggle"
      className="inline-flex h-8 w-8 items-center justify-center rounded-md border border-slate-300 text-slate-700 hover:bg-slate-100 dark:border-slate-700 dark:text-slate-200 dark:hover:bg-slate-800"
    >
      <Icon className="h-4 w-4" aria-hidden />
    </button>
  );
}
