// A paged list on a screen: the first page, then "load more" follows the
// server's `Link: rel="next"` and appends; a reload starts from the first page.
import { useCallback, useEffect, useState } from 'react';
import { apiPage } from '../api/client.ts';

export interface Paged<T> {
  data: T[] | undefined;
  error: unknown;
  /** Whether the server has more after what is shown. */
  more: boolean;
  busy: boolean;
  loadMore: () => Promise<void>;
  reload: () => void;
}

export function usePaged<T>(path: string | null): Paged<T> {
  const [state, setState] = useState<{ data?: T[]; error?: unknown; next: string | null; busy: boolean }>({
    next: null,
    busy: false,
  });
  const [n, setN] = useState(0);
  // biome-ignore lint/correctness/useExhaustiveDependencies: n is the reload counter; a new n is what loads again
  useEffect(() => {
    let live = true;
    setState({ next: null, busy: false });
    if (path === null) return;
    apiPage<T>(path).then(
      (p) => live && setState({ data: p.items, next: p.next, busy: false }),
      (error: unknown) => live && setState({ error, next: null, busy: false }),
    );
    return () => {
      live = false;
    };
  }, [path, n]);
  const loadMore = useCallback(async () => {
    if (!state.next || state.busy) return;
    setState((s) => ({ ...s, busy: true }));
    try {
      const p = await apiPage<T>(state.next);
      setState((s) => ({ data: [...(s.data ?? []), ...p.items], next: p.next, busy: false }));
    } catch (error) {
      setState((s) => ({ ...s, error, busy: false }));
    }
  }, [state.next, state.busy]);
  return {
    data: state.data,
    error: state.error,
    more: state.next !== null,
    busy: state.busy,
    loadMore,
    reload: () => setN((x) => x + 1),
  };
}
