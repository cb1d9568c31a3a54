import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { test } from 'node:test';
import ts from 'typescript';

// ARCHITECTURE.md's layer table is the map of src/: a layer may use only the
// layers listed below it. This test reads every import in src/ and holds the
// code to that map, so the map stays a checked fact rather than a wish.

const root = resolve(new URL('../..', import.meta.url).pathname);
const srcDir = join(root, 'src');
const architecture = readFileSync(join(root, 'ARCHITECTURE.md'), 'utf8');

/** The rooms of the layer table, top first: `cli/`, `agent.ts`, … `model/`. */
function layersFromTable(markdown: string): string[] {
  const section = /## The layers in `src\/`\n([\s\S]*?)\n## /.exec(markdown)?.[1];
  assert.ok(section, 'ARCHITECTURE.md has a section "## The layers in `src/`"');
  return [...section.matchAll(/^\| `([\w.-]+\/?)` \|/gm)].map((m) => m[1]!.replace(/\/$/, ''));
}

function sourceFiles(dir: string, source = /(?<!\.d)\.ts$/): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path, source);
    return source.test(name) ? [path] : [];
  });
}

/** The room a path in src/ belongs to: its top folder, or the file itself at the top. */
function roomOf(path: string): string {
  const first = relative(srcDir, path).split(sep)[0]!;
  // An import names the compiled `.js`; the room is the `.ts` it comes from.
  return first.replace(/\.js$/, '.ts');
}

interface Edge {
  from: string;
  to: string;
  where: string;
}

function importEdges(): Edge[] {
  const edges: Edge[] = [];
  for (const file of sourceFiles(srcDir)) {
    const text = readFileSync(file, 'utf8');
    const { importedFiles } = ts.preProcessFile(text, true, true);
    for (const imported of importedFiles) {
      if (!imported.fileName.startsWith('.')) continue;
      const target = resolve(dirname(file), imported.fileName);
      assert.ok(target.startsWith(srcDir + sep), `${relative(root, file)} imports ${imported.fileName}, outside src/`);
      const from = roomOf(file);
      const to = roomOf(target);
      if (from === to) continue;
      const line = text.slice(0, imported.pos).split('\n').length;
      edges.push({ from, to, where: `${relative(root, file)}:${line} imports ${imported.fileName}` });
    }
  }
  return edges;
}

const layers = layersFromTable(architecture);

test('the layer table names every room of src/ once, and nothing else', () => {
  const rooms = [...new Set(sourceFiles(srcDir).map(roomOf))].sort();
  assert.equal(new Set(layers).size, layers.length, `a room is listed twice: ${layers.join(', ')}`);
  assert.deepEqual([...layers].sort(), rooms);
});

test('every import in src/ goes down the layer table', () => {
  const edges = importEdges();
  assert.ok(edges.length > 20, `only ${edges.length} imports between rooms were found: the reader is broken`);
  const upward = edges.filter((edge) => layers.indexOf(edge.from) > layers.indexOf(edge.to));
  assert.deepEqual(
    upward.map((edge) => `${edge.where} (${edge.from} is above ${edge.to} in ARCHITECTURE.md)`),
    [],
  );
});

test('the task core and the model know nothing of HTTP', () => {
  const offenders: string[] = [];
  for (const room of ['core', 'model', 'store']) {
    for (const file of sourceFiles(join(srcDir, room))) {
      const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
      for (const { fileName } of importedFiles) {
        if (/^(node:)?https?$|^undici$|^node:http2$/.test(fileName)) offenders.push(`${relative(root, file)} imports ${fileName}`);
      }
    }
  }
  assert.deepEqual(offenders, []);
});

test('every source file ARCHITECTURE.md names exists', () => {
  const rooms = new Set(layers.filter((room) => !room.endsWith('.ts')));
  const named = [...architecture.matchAll(/`((?:[\w-]+\/)+[\w.-]+\.ts)`/g)].map((m) => m[1]!);
  const inSrc = named.filter((path) => rooms.has(path.split('/')[0]!) || path.startsWith('src/') || path.startsWith('tests/'));
  assert.ok(inSrc.length > 10, `only ${inSrc.length} file names were found in ARCHITECTURE.md`);
  const missing = inSrc.filter((path) => {
    const full = path.startsWith('src/') || path.startsWith('tests/') ? join(root, path) : join(srcDir, path);
    try {
      return !statSync(full).isFile();
    } catch {
      return true;
    }
  });
  assert.deepEqual(missing, [], 'ARCHITECTURE.md names files that are not there');
});

test('the console (console/) is a client of the service only: it imports nothing of src/ and no package but Preact', () => {
  const consoleDir = join(root, 'console', 'src');
  const files = sourceFiles(consoleDir, /\.tsx?$/);
  assert.ok(files.length > 5, `only ${files.length} console sources were found: the reader is broken`);
  const offenders: string[] = [];
  for (const file of files) {
    for (const { fileName } of ts.preProcessFile(readFileSync(file, 'utf8'), true, true).importedFiles) {
      const inside = fileName.startsWith('.') && resolve(dirname(file), fileName).startsWith(consoleDir + sep);
      if (!inside && !/^preact(\/hooks)?$/.test(fileName)) offenders.push(`${relative(root, file)} imports ${fileName}`);
    }
  }
  assert.deepEqual(offenders, []);
});
