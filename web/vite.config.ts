import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// `npm run dev` proxies the API to a `kansoku serve` on 5080. The manifest
// (dist/.vite/manifest.json: which chunks each entry and lazy route loads) is read by
// scripts/check-budget.mjs, which then removes it.
export default defineConfig({
  plugins: [react()],
  build: { outDir: "dist", assetsDir: "assets", sourcemap: false, chunkSizeWarningLimit: 800, manifest: true },
  server: {
    proxy: {
      "/api": "http://127.0.0.1:5080",
      "/auth": "http://127.0.0.1:5080",
    },
  },
  test: { include: ["src/**/*.test.ts"] },
});
