// The web application's build. Output goes to web/dist, which the Kartei
// server serves at `/` under its strict Content Security Policy.
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

export default defineConfig({
  root: import.meta.dirname,
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // Modern browsers only: a health office's managed Chromium/Firefox/Edge.
    target: 'es2022',
    // The CSP forbids inline scripts: never inline assets as data: scripts.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    // The password estimator's dictionaries (~2.5 MB) load only where a password is set.
    chunkSizeWarningLimit: 3_000,
  },
});
