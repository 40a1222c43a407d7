import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// `npm run dev` proxies the API to a `kansoku serve` on 5080.
export default defineConfig({
  plugins: [react()],
  build: { outDir: "dist", assetsDir: "assets", sourcemap: false, chunkSizeWarningLimit: 800 },
  server: {
    proxy: {
      "/api": "http://127.0.0.1:5080",
      "/auth": "http://127.0.0.1:5080",
    },
  },
  test: { include: ["src/**/*.test.ts"] },
});
