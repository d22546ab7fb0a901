import { defineConfig } from "vite";

// The build is committed (web/dist, embedded into the binary by embed.go) and CI rebuilds it to check for
// drift, so it must be byte-for-byte reproducible from the same inputs: file names carry a hash of their
// content only (the server lets browsers cache /assets/ for good, so a new build must have new names), no
// source maps (they would carry absolute paths), and Leaflet's few small images inlined into the CSS.
export default defineConfig({
  base: "./",
  build: {
    outDir: "dist",
    emptyOutDir: true,
    sourcemap: false,
    target: "es2022",
    // Inline Leaflet's few small images (layers control icons) into the CSS.
    assetsInlineLimit: 8192,
    reportCompressedSize: false,
    rollupOptions: {
      output: {
        entryFileNames: "assets/[name]-[hash].js",
        chunkFileNames: "assets/[name]-[hash].js",
        assetFileNames: "assets/[name]-[hash][extname]",
      },
    },
  },
});
