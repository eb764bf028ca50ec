// A small history router: the paths are few and flat, and a dependency would
// cost more bytes than these lines.
import { useSyncExternalStore, type MouseEvent, type ReactNode } from 'react';

const subscribe = (f: () => void) => {
  addEventListener('popstate', f);
  return () => removeEventListener('popstate', f);
};

export function usePath(): string {
  return useSyncExternalStore(subscribe, () => location.pathname);
}

export function navigate(path: string, replace = false): void {
  if (replace) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  dispatchEvent(new PopStateEvent('popstate'));
}

/** Matches `/persons/:id` style patterns; returns the parameters or null. */
export function match(pattern: string, path: string): Record<string, string> | null {
  const p = pattern.split('/');
  const a = path.split('/');
  if (p.length !== a.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < p.length; i++) {
    if (p[i]!.startsWith(':')) params[p[i]!.slice(1)] = decodeURIComponent(a[i]!);
    else if (p[i] !== a[i]) return null;
  }
  return params;
}

/** An in-app link; `onNavigate` runs just before it navigates (to start loading what the next page needs). */
export function Link({
  to,
  children,
  className,
  onNavigate,
}: {
  to: string;
  children: ReactNode;
  className?: string;
  onNavigate?: () => void;
}) {
  const onClick = (e: MouseEvent<HTMLAnchorElement>) => {
    if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    onNavigate?.();
    navigate(to);
  };
  return (
    <a href={to} onClick={onClick} className={className} aria-current={location.pathname === to ? 'page' : undefined}>
      {children}
    </a>
  );
}
