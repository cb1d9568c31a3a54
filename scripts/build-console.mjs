#!/usr/bin/env node
// Builds the web console (console/src) into dist/console: one bundled script
// and one stylesheet under assets/, named by their content hash (served as
// immutable), and index.html, which names them (served as no-cache). Nothing
// the page loads comes from outside the service.
//
//   node scripts/build-console.mjs
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const OUT = join('dist', 'console');

const result = await build({
  entryPoints: ['console/src/main.tsx'],
  bundle: true,
  minify: true,
  format: 'esm',
  target: ['es2022'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  legalComments: 'none',
  write: false,
  outdir: join(OUT, 'assets'),
  entryNames: '[name]-[hash]',
  logLevel: 'warning',
});

rmSync(OUT, { recursive: true, force: true });
mkdirSync(join(OUT, 'assets'), { recursive: true });
let script;
let style;
for (const file of result.outputFiles) {
  writeFileSync(file.path, file.contents);
  if (file.path.endsWith('.js')) script = basename(file.path);
  if (file.path.endsWith('.css')) style = basename(file.path);
}
if (script === undefined || style === undefined) throw new Error('the console build produced no script or no stylesheet');

const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>kagent console</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/console/assets/${style}">
<script type="module" src="/console/assets/${script}"></script>
</head>
<body>
<div id="app"><noscript>The console needs JavaScript.</noscript></div>
</body>
</html>
`;
writeFileSync(join(OUT, 'index.html'), html);

const sizes = result.outputFiles.map((f) => `${basename(f.path)} ${f.contents.length} B (${gzipSync(f.contents).length} B gzip)`);
console.error(`console: ${sizes.join(', ')}`);
