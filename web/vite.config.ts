/// <reference types="vitest/config" />
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';
import tailwindcss from '@tailwindcss/vite';

// `npm run dev` proxies the API to a gateway (default localhost:8081; override with
// GT_GATEWAY=http://host:port). The built app talks to its own origin: the gateway serves it.
const gateway = process.env.GT_GATEWAY ?? 'http://localhost:8081';
const proxied = ['/api', '/health', '/stats', '/metrics', '/openapi.json', '/docs'];

export default defineConfig({
  plugins: [react(), tailwindcss()],
  build: {
    outDir: 'dist',
    sourcemap: false,
    chunkSizeWarningLimit: 800,
    rolldownOptions: {
      output: {
        codeSplitting: {
          groups: [
            { name: 'react', test: /node_modules[\\/](react|react-dom|scheduler)[\\/]/ },
            { name: 'charts', test: /node_modules[\\/](recharts|d3-|victory-vendor|@reduxjs|redux|immer|reselect|decimal\.js|es-toolkit|eventemitter3|use-sync-external-store|react-redux|clsx|tiny-invariant)/ },
          ],
        },
      },
    },
  },
  server: {
    proxy: {
      ...Object.fromEntries(proxied.map((p) => [p, { target: gateway, changeOrigin: true }])),
      '/ws': { target: gateway.replace(/^http/, 'ws'), ws: true, changeOrigin: true },
    },
  },
  test: {
    environment: 'node', // component tests opt in with @vitest-environment jsdom
    include: ['src/**/*.test.{ts,tsx}'],
    restoreMocks: true,
    // the suite runs next to C builds and sanitizer tests on 2 cores: jsdom set-up alone can
    // take seconds there, which is not a failure of the code under test
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
