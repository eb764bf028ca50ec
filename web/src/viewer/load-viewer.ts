// The viewer's code, fetched ahead: a file that has images starts loading it,
// so the click on a study renders at once instead of waiting behind a
// Suspense fallback (React holds a revealed fallback for 300 ms).
import { lazy } from 'react';

type ViewerModule = typeof import('./viewer-screen.tsx');
let loaded: ViewerModule | undefined;

export const preloadViewer = (): Promise<ViewerModule> => import('./viewer-screen.tsx').then((m) => (loaded = m));

const LazyViewer = lazy(preloadViewer);

/** The viewer component: the module itself once loaded, else a lazy stand-in. */
export const viewerComponent = () => loaded?.default ?? LazyViewer;

/** Runs `f` with the viewer's module: at once when it is loaded (before a navigation renders the viewer), else once it is. */
export function withViewer(f: (m: ViewerModule) => void): void {
  if (loaded) f(loaded);
  else void preloadViewer().then(f);
}
