import { defineConfig } from 'vite';

// Dev workflow: uvicorn on 3000, vite on 5173; /api is proxied so the browser
// only ever talks to one origin, exactly as it does behind Traefik in production.
const apiTarget = process.env.VITE_API_TARGET || 'http://127.0.0.1:3000';

export default defineConfig({
  server: {
    host: process.env.VITE_HOST || '127.0.0.1',
    port: Number(process.env.VITE_PORT || 5173),
    strictPort: true,
    proxy: {
      '/api': { target: apiTarget, changeOrigin: true },
    },
  },
});
