// Vite builds the page into www/dist the way a frontend project imports edgesaga: the
// `--target web` package (pkg/, `npm run build`) under its npm name, initialised with
// `await init()`; Vite emits the .wasm as an asset from the package's
// `new URL('edgesaga_bg.wasm', import.meta.url)`.
import { defineConfig } from 'vite';
import { fileURLToPath } from 'node:url';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  resolve: {
    alias: { edgesaga: fileURLToPath(new URL('../pkg/edgesaga.js', import.meta.url)) },
  },
  build: { outDir: 'dist', emptyOutDir: true },
});
