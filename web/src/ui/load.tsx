// Loading data for a screen: the result, the error (404 reads as "not found or
// not yours", exactly as the server means it), and a way to load again.
import { useCallback, useEffect, useState, type ReactNode } from 'react';
import { ApiError } from '../api/client.ts';
import { useT } from '../i18n/i18n.ts';
import { errorTitle } from './form.tsx';

export function useLoad<T>(
  load: () => Promise<T>,
  deps: unknown[],
): { data: T | undefined; error: unknown; reload: () => void } {
  const [state, setState] = useState<{ data?: T; error?: unknown }>({});
  const [n, setN] = useState(0);
  // The caller names what the load depends on, as with useEffect.
  // biome-ignore lint/correctness/useExhaustiveDependencies: the caller's list, checked at each call (useLoad is declared a hook in biome.jsonc)
  const run = useCallback(load, deps);
  // biome-ignore lint/correctness/useExhaustiveDependencies: n is the reload counter; a new n is what loads again
  useEffect(() => {
    let live = true;
    run().then(
      (data) => live && setState({ data }),
      (error: unknown) => live && setState({ error }),
    );
    return () => {
      live = false;
    };
  }, [run, n]);
  return { data: state.data, error: state.error, reload: () => setN((x) => x + 1) };
}

/** Shows the error of a load, or the children once the data is there. */
export function Loaded<T>({
  state,
  children,
}: {
  state: { data: T | undefined; error: unknown };
  children: (data: T) => ReactNode;
}) {
  const t = useT();
  if (state.error) {
    const e = state.error;
    return (
      <p role="alert" className="form-error">
        {e instanceof ApiError
          ? e.status === 404
            ? t('error.notFoundOrHidden')
            : errorTitle(t, e)
          : t('error.network')}
      </p>
    );
  }
  if (state.data === undefined) return <p className="loading">{t('common.loading')}</p>;
  return <>{children(state.data)}</>;
}
