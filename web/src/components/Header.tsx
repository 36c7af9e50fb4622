// The app header: brand, navigation, and a status area. Later features (alerts: a firing count
// and an alerts page) plug in through `extraNav` / `extraStatus` without touching this layout.
import type { ComponentType, ReactNode } from 'react';
import type { Route } from '../lib/router';
import { Activity, Cpu, Hourglass, LayoutGrid } from './icons';
import { Link } from './Link';
import { LiveIndicator } from './LiveIndicator';
import { ThemeToggle } from './ThemeToggle';

export interface NavItem {
  href: string;
  label: string;
  icon: ComponentType<{ className?: string; 'aria-hidden'?: boolean }>;
  /** whether the item is the current page */
  match: (r: Route) => boolean;
}

export const NAV: NavItem[] = [
  { href: '/', label: 'Fleet', icon: LayoutGrid, match: (r) => r.page === 'fleet' || r.page === 'host' || r.page === 'gpu' },
  { href: '/idle', label: 'Idle', icon: Hourglass, match: (r) => r.page === 'idle' },
  { href: '/pipeline', label: 'Pipeline', icon: Activity, match: (r) => r.page === 'pipeline' },
];

export function Header({ route, extraNav = [], extraStatus }: { route: Route; extraNav?: NavItem[]; extraStatus?: ReactNode }) {
  const items = [...NAV, ...extraNav];
  return (
    <header className="sticky top-0 z-30 border-b border-slate-200 bg-white dark:border-slate-800 dark:bg-slate-950">
      <div className="mx-auto flex h-14 max-w-[1600px] items-center gap-2 px-3 sm:gap-4 sm:px-6">
        <Link href="/" className="flex shrink-0 items-center gap-2 rounded font-semibold text-slate-900 dark:text-white">
          <Cpu className="h-5 w-5 text-teal-600 dark:text-teal-400" aria-hidden />
          <span className="hidden sm:inline">GPU telemetry</span>
        </Link>
        <nav aria-label="Main" className="flex min-w-0 items-center gap-1">
          {items.map((it) => {
            const active = it.match(route);
            const Icon = it.icon;
            return (
              <Link
                key={it.href}
                href={it.href}
                aria-current={active ? 'page' : undefined}
                title={it.label}
                className={`flex items-center gap-1.5 rounded-md px-2 py-1.5 text-sm font-medium sm:px-3 ${
                  active
                    ? 'bg-slate-900 text-white dark:bg-slate-100 dark:text-slate-900'
                    : 'text-slate-600 hover:bg-slate-100 dark:text-slate-300 dark:hover:bg-slate-800'
                }`}
              >
                <Icon className="h-4 w-4" aria-hidden />
                {/* phones: icons only (the label stays for screen readers and as a tooltip) */}
                <span className="sr-only sm:not-sr-only">{it.label}</span>
              </Link>
            );
          })}
        </nav>
        <div className="ml-auto flex items-center gap-2">
          {extraStatus}
          <LiveIndicator />
          <ThemeToggle />
        </div>
      </div>
    </header>
  );
}
