// Vite config: the dev server proxies every server route to the C server whose address
// run_demo puts in the environment (RD_SERVER_HOST / RD_SERVER_PORT), so the app always
// uses URLs relative to its own origin and works the same when the server itself serves
// the built bundle (run_demo --frontend static).
import { defineConfig } from 'vitest/config';
import vue from '@vitejs/plugin-vue';

const host = process.env.RD_SERVER_HOST || '127.0.0.1';
const port = process.env.RD_SERVER_PORT || '8766';
const http = `http://${host}:${port}`;

export default defineConfig({
  plugins: [vue()],
  // Relative asset paths: the bundle works from any mount point of the static server.
  base: './',
  server: {
    proxy: {
      '/api': { target: http, changeOrigin: false },
      '/healthz': { target: http, changeOrigin: false },
      '/metrics': { target: http, changeOrigin: false },
      '/ws': {
        target: http,
        ws: true,
        changeOrigin: false,
        // The server checks a browser's Origin on WebSocket upgrades (PROTOCOL.md §6) and
        // may not know the port this dev server got. A page served by this dev server
        // itself (Origin = our own host) is presented as the server's own origin; any
        // other Origin passes through unchanged, so the server's check still refuses it.
        configure: (proxy) => {
          proxy.on('proxyReqWs', (proxyReq, req) => {
            const origin = req.headers.origin;
            if (origin && req.headers.host && origin === `http://${req.headers.host}`) proxyReq.setHeader('origin', http);
          });
        },
      },
    },
  },
  build: {
    outDir: 'dist',
    target: 'es2020',
    // The budget is 200 KiB gzipped; Vue + uPlot + the app is well under it.
    chunkSizeWarningLimit: 400,
  },
  test: {
    include: ['src/**/*.test.ts'],
    environment: 'node',
  },
});
