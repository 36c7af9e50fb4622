// Dark/light theme: the system's preference by default, a persisted choice once toggled.
import { useCallback, useEffect, useSyncExternalStore } from 'react';

export type ThemeChoice = 'system' | 'light' | 'dark';
const KEY = 'gt-theme';

function readChoice(): ThemeChoice {
  try {
    const v = localStorage.getItem(KEY);
    if (v === 'light' || v === 'dark' || v === 'system') return v;
  } catch {
    /* storage disabled */
  }
  return 'system';
}

const media = typeof window !== 'undefined' && window.matchMedia ? window.matchMedia('(prefers-color-scheme: dark)') : null;

export function resolveTheme(choice: ThemeChoice, systemDark: boolean): 'light' | 'dark' {
  return choice === 'system' ? (systemDark ? 'dark' : 'light') : choice;
}

export function applyTheme(choice: ThemeChoice = readChoice()): void {
  const dark = resolveTheme(choice, !!media?.matches) === 'dark';
  document.documentElement.classList.toggle('dark', dark);
  document.documentElement.style.colorScheme = dark ? 'dark' : 'light';
}

const listeners = new Set<() => void>();
let current: ThemeChoice = typeof window !== 'undefined' ? readChoice() : 'system';

function subscribe(fn: () => void) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/** The next choice of the toggle: system -> light -> dark -> system. */
export function nextTheme(c: ThemeChoice): ThemeChoice {
  return c === 'system' ? 'light' : c === 'light' ? 'dark' : 'system';
}

export function useTheme(): [ThemeChoice, 'light' | 'dark', (c: ThemeChoice) => void] {
  const choice = useSyncExternalStore(subscribe, () => current);
  const systemDark = useSyncExternalStore(
    (fn) => {
      media?.addEventListener('change', fn);
      return () => media?.removeEventListener('change', fn);
    },
    () => !!media?.matches,
  );
  useEffect(() => applyTheme(choice), [choice, systemDark]);
  const set = useCallback((c: ThemeChoice) => {
    current = c;
    try {
      localStorage.setItem(KEY, c);
    } catch {
      /* storage disabled */
    }
    for (const fn of listeners) fn();
  }, []);
  return [choice, resolveTheme(choice, systemDark), set];
}
