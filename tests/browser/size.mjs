// Prints the size of greendot.js as pages download it: minified (esbuild) and gzipped.
import { readFile } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import { transform } from 'esbuild';

const source = await readFile(new URL('../../web/greendot.js', import.meta.url), 'utf8');
const { code } = await transform(source, { minify: true, format: 'esm', target: 'es2022' });
const kb = (bytes) => `${(bytes / 1024).toFixed(1)} KB`;
console.log(`greendot.js: ${kb(source.length)} source, ${kb(code.length)} minified, ${kb(gzipSync(code, { level: 9 }).length)} minified and gzipped`);
