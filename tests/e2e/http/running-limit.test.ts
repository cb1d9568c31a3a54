import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { waitFor } from '../../support/wait.js';
import { openStream, rpc, textMessage } from '../../support/rpc.js';
import { startService } from '../../support/service-process.js';
import type { ServiceProcess } from '../../support/service-process.js';
import { assertRpcError, errorInfo, ok, totalTasks } from './helpers.js';

const LIMIT = 3;

describe('MAX_RUNNING_TASKS caps the tasks a pod runs', () => {
  let dir: string;
  let settingsFile: string;
  let service: ServiceProcess;
  const running: string[] = [];
  let waiting: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kagent-running-limit-'));
    settingsFile = join(dir, 'settings.yaml');
    writeFileSync(settingsFile, `MAX_RUNNING_TASKS: ${LIMIT}\n`);
    service = await startService(join(dir, 'data'), { CONFIG_PATH: settingsFile, ECHO_MAX_DELAY: '10m' });
    // A task waiting for input runs nothing: it does not count.
    waiting = ok(await rpc(service.url, 'SendMessage', { message: textMessage('which?', { metadata: { skill: 'delegate' } }) })).task.id;
    for (let i = 0; i < LIMIT; i++) {
      const sent = ok(await rpc(service.url, 'SendMessage', { message: textMessage(`long ${i}`, { metadata: { delayMs: 600_000 } }), configuration: { returnImmediately: true } }));
      running.push(sent.task.id);
    }
  });

  after(async () => {
    await service?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  test('one more message is refused with a retryable 503 and creates no task', async () => {
    const before = await totalTasks(service.url);
    const refused = await rpc(service.url, 'SendMessage', { message: textMessage('one too many', { metadata: { delayMs: 600_000 } }), configuration: { returnImmediately: true } });
    assert.equal(refused.status, 503);
    assert.equal(refused.headers.get('retry-after'), '1');
    const error = assertRpcError(refused.body, -32050);
    assert.match(error.message, /MAX_RUNNING_TASKS/);
    assert.equal(errorInfo(error).reason, 'UNAVAILABLE');
    assert.equal(await totalTasks(service.url), before, 'no task was created');
  });

  test('a streaming message is refused the same way, before any stream starts', async () => {
    const stream = await openStream(service.url, 'SendStreamingMessage', { message: textMessage('stream too', { metadata: { delayMs: 600_000 } }) });
    assert.equal(stream.status, 503);
    assert.equal(stream.headers.get('content-type'), 'application/json');
    stream.close();
  });

  test('input for a waiting task would run it again: refused too, and the task still waits', async () => {
    const task = ok(await rpc(service.url, 'GetTask', { id: waiting }));
    const refused = await rpc(service.url, 'SendMessage', { message: textMessage('go on', { taskId: waiting, contextId: task.contextId }) });
    assert.equal(refused.status, 503);
    assertRpcError(refused.body, -32050);
    assert.equal(ok(await rpc(service.url, 'GetTask', { id: waiting })).status.state, 'TASK_STATE_INPUT_REQUIRED');
  });

  test('when a running task ends, a new one is taken', async () => {
    ok(await rpc(service.url, 'CancelTask', { id: running.shift()! }));
    let accepted: any;
    await waitFor('a slot to free up', async () => {
      const res = await rpc(service.url, 'SendMessage', { message: textMessage('next', { metadata: { delayMs: 600_000 } }), configuration: { returnImmediately: true } });
      accepted = res.body.result;
      return res.status === 200 && accepted !== undefined;
    }, 30_000);
    running.push(accepted.task.id);
  });

  test('the limit is live: raising it in the settings file admits more at once', async () => {
    writeFileSync(settingsFile, `MAX_RUNNING_TASKS: ${LIMIT + 1}\n`);
    await waitFor('the raised limit to apply', async () => {
      const res = await rpc(service.url, 'SendMessage', { message: textMessage('after raise', { metadata: { delayMs: 600_000 } }), configuration: { returnImmediately: true } });
      return res.status === 200;
    }, 30_000);
  });
});
