// What one request can make the service hold or send, measured in bytes
// against the settings that bound it, on a real service process: a manifest
// review lists at most MAX_FINDINGS findings, a task's artifacts never pass
// MAX_ARTIFACT_BYTES, and a ListTasks page with artifacts stops at
// MAX_LIST_PAGE_BYTES and says where to go on.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startService } from '../../support/service-process.js';
import type { ServiceProcess } from '../../support/service-process.js';
import { rpc } from '../../support/rpc.js';
import { ok } from './helpers.js';

const MAX_FINDINGS = 50;
const MAX_ARTIFACT_BYTES = 128 * 1024;
const MAX_LIST_PAGE_BYTES = 256 * 1024;

let service: ServiceProcess;
let dir: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kagent-bounds-'));
  service = await startService(
    dir,
    { MAX_FINDINGS: String(MAX_FINDINGS), MAX_ARTIFACT_BYTES: String(MAX_ARTIFACT_BYTES), MAX_LIST_PAGE_BYTES: String(MAX_LIST_PAGE_BYTES) },
    60_000,
  );
});

after(async () => {
  await service?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

let counter = 0;
function message(text: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { role: 'ROLE_USER', messageId: `bounds-${process.pid}-${++counter}`, parts: [{ text }], ...extra };
}

async function send(text: string, metadata: Record<string, unknown>, contextId?: string): Promise<any> {
  const res = await fetch(service.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'A2A-Version': '1.0' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'SendMessage', params: { message: message(text, { metadata, ...(contextId ? { contextId } : {}) }) } }),
    signal: AbortSignal.timeout(180_000),
  });
  const body = (await res.json()) as any;
  assert.ok(body.result?.task, JSON.stringify(body).slice(0, 500));
  return body.result.task;
}

const statusText = (task: any): string => (task.status?.message?.parts ?? []).map((p: any) => p.text ?? '').join('');
const artifactBytes = (task: any): number => Buffer.byteLength(JSON.stringify(task.artifacts ?? []));

describe('a manifest review of many objects', () => {
  test('lists MAX_FINDINGS findings, counts them all, says how many are not shown; its artifacts stay small', async () => {
    // Pods with two containers each and nothing hardened: about sixteen findings apiece, thousands in all.
    let yaml = '';
    for (let i = 0; yaml.length < 400_000; i++) {
      yaml += `---\napiVersion: v1\nkind: Pod\nmetadata: {name: p${i}}\nspec: {containers: [{name: c, image: x}, {name: d, image: y}]}\n`;
    }
    const task = await send(yaml, { skill: 'manifest-review' });
    assert.equal(task.status.state, 'TASK_STATE_COMPLETED', statusText(task));
    const data = task.artifacts.find((a: any) => a.artifactId === 'manifest-review-findings').parts[0].data;
    assert.equal(data.findings.length, MAX_FINDINGS);
    const total = data.summary.errors + data.summary.warnings + data.summary.infos;
    assert.ok(total > 10 * MAX_FINDINGS, `${total} findings in all`);
    assert.equal(data.summary.notShown, total - MAX_FINDINGS);
    assert.match(statusText(task), new RegExp(`; ${total - MAX_FINDINGS} more findings not shown \\(MAX_FINDINGS is ${MAX_FINDINGS}\\)$`));
    const report = task.artifacts.find((a: any) => a.artifactId === 'manifest-review-report').parts[0].text as string;
    assert.match(report, new RegExp(`${total - MAX_FINDINGS} more not shown \\(MAX_FINDINGS is ${MAX_FINDINGS}\\)`));
    // A few hundred bytes a finding: nowhere near the megabytes every finding of every object would take.
    assert.ok(artifactBytes(task) < MAX_ARTIFACT_BYTES, `artifacts of ${artifactBytes(task)} bytes`);
  });
});

describe('MAX_ARTIFACT_BYTES', () => {
  test('a skill writing more than the limit fails its task, saying why; nothing over the limit is stored', async () => {
    const task = await send('x'.repeat(MAX_ARTIFACT_BYTES + 10_000), { skill: 'echo' });
    assert.equal(task.status.state, 'TASK_STATE_FAILED');
    assert.match(statusText(task), new RegExp(`artifact "echo" would bring this task's artifacts to \\d+ bytes, over the limit of ${MAX_ARTIFACT_BYTES} bytes per task \\(MAX_ARTIFACT_BYTES\\)`));
    const stored = ok(await rpc(service.url, 'GetTask', { id: task.id }));
    assert.deepEqual(stored.artifacts ?? [], []);
  });

  test('below the limit the artifact is written whole', async () => {
    const task = await send('y'.repeat(MAX_ARTIFACT_BYTES / 2), { skill: 'echo' });
    assert.equal(task.status.state, 'TASK_STATE_COMPLETED');
    assert.equal(task.artifacts[0].parts[0].text.length, MAX_ARTIFACT_BYTES / 2);
  });
});

describe('ListTasks with artifacts', () => {
  test('a page stops at MAX_LIST_PAGE_BYTES and its nextPageToken goes on from there; the walk lists every task once', async () => {
    const contextId = `bounds-list-${process.pid}`;
    const created: string[] = [];
    // Each task holds about 100 kB: its message (50 kB) in the history and the echo of it as an artifact.
    for (let i = 0; i < 8; i++) created.push((await send(`${i}`.repeat(50_000), { skill: 'echo' }, contextId)).id);

    const seen: string[] = [];
    const pageSizes: number[] = [];
    let pageToken = '';
    for (let pages = 0; pages < 20; pages++) {
      const res = await fetch(service.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'A2A-Version': '1.0' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'ListTasks', params: { contextId, pageSize: 8, includeArtifacts: true, pageToken } }),
      });
      const text = await res.text();
      // The encoded answer may differ a little from the stored JSON the budget counts; a page is never the megabyte all eight would make.
      assert.ok(Buffer.byteLength(text) < MAX_LIST_PAGE_BYTES + 16 * 1024, `a page of ${Buffer.byteLength(text)} bytes`);
      const page = JSON.parse(text).result;
      assert.equal(page.totalSize, 8);
      assert.ok(page.tasks.every((t: any) => t.artifacts.length === 1));
      seen.push(...page.tasks.map((t: any) => t.id));
      pageSizes.push(page.tasks.length);
      if (page.nextPageToken === '') break;
      pageToken = page.nextPageToken;
    }
    assert.deepEqual(pageSizes, [2, 2, 2, 2]);
    assert.deepEqual([...seen].sort(), [...created].sort());
  });
});
