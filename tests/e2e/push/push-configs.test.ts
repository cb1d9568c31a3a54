import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startTestAgent } from '../../support/agent.js';
import type { TestAgent } from '../../support/agent.js';
import { bearer, newApiKey } from '../../support/auth.js';
import { ConfigMapDir } from '../../support/configmap-dir.js';
import { rpc } from '../../support/rpc.js';
import { assertInvalidParams, assertRpcError, errorInfo, ok, V03, v03Message } from '../http/helpers.js';

// The push-config methods over JSON-RPC, 1.0 and 0.3, on a real agent with API
// keys (two callers): shapes, redaction, scoping, the egress guard at creation
// and hostile configs. Deliveries themselves: delivery.test.ts.

const MAX_CONFIGS = 3;

describe('push-config methods', () => {
  let root: string;
  let agent: TestAgent;
  const alice = newApiKey();
  const bob = newApiKey();
  let counter = 0;
  const message = (text: string) => ({ role: 'ROLE_USER', messageId: `cfg-${process.pid}-${counter++}`, parts: [{ text }], metadata: { skill: 'echo' } });
  // Admitted by name (EGRESS_ALLOW=localhost, resolved from /etc/hosts: no test here needs DNS); every other
  // internal address is refused, as in production by default. Nothing listens on port 9: deliveries fail and wait an hour.
  const hook = 'http://localhost:9/a2a';

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'kagent-push-configs-'));
    const keys = new ConfigMapDir(join(root, 'keys'));
    keys.update({ alice, bob });
    agent = await startTestAgent({
      AUTH_MODE: 'apikey',
      AUTH_API_KEYS_DIR: keys.path,
      PUSH_MAX_CONFIGS_PER_TASK: String(MAX_CONFIGS),
      EGRESS_ALLOW: 'localhost',
      PUSH_RETRY_BASE: '1h',
      PUSH_RETRY_MAX: '1h',
    });
  });

  after(async () => {
    await agent.dispose();
    rmSync(root, { recursive: true, force: true });
  });

  async function aliceTask(): Promise<string> {
    return ok(await rpc(agent.url, 'SendMessage', { message: message('task'), configuration: { returnImmediately: true } }, bearer(alice))).task.id;
  }

  test('1.0: create, get, list and delete; the credentials are never read back', async () => {
    const taskId = await aliceTask();
    const created = ok(
      await rpc(
        agent.url,
        'CreateTaskPushNotificationConfig',
        { taskId, id: 'cfg-1', url: hook, token: 'tok', authentication: { scheme: 'Bearer', credentials: 'super-secret' } },
        bearer(alice),
      ),
    );
    const expected = { taskId, id: 'cfg-1', url: hook, token: 'tok', authentication: { scheme: 'Bearer' } };
    assert.deepEqual(created, expected);
    assert.deepEqual(ok(await rpc(agent.url, 'GetTaskPushNotificationConfig', { taskId, id: 'cfg-1' }, bearer(alice))), expected);
    // Without an id the agent picks one.
    const second = ok(await rpc(agent.url, 'CreateTaskPushNotificationConfig', { taskId, url: `${hook}/2` }, bearer(alice)));
    assert.match(second.id, /^[0-9a-f-]{36}$/);
    const listed = ok(await rpc(agent.url, 'ListTaskPushNotificationConfigs', { taskId }, bearer(alice)));
    assert.deepEqual(listed.configs.map((c: any) => c.id).sort(), ['cfg-1', second.id].sort());
    assert.doesNotMatch(JSON.stringify([created, listed]), /super-secret/);
    // The same id again replaces the config.
    ok(await rpc(agent.url, 'CreateTaskPushNotificationConfig', { taskId, id: 'cfg-1', url: `${hook}/replaced` }, bearer(alice)));
    assert.equal(ok(await rpc(agent.url, 'GetTaskPushNotificationConfig', { taskId, id: 'cfg-1' }, bearer(alice))).url, `${hook}/replaced`);

    assert.deepEqual(ok(await rpc(agent.url, 'DeleteTaskPushNotificationConfig', { taskId, id: 'cfg-1' }, bearer(alice))), {});
    assert.deepEqual(ok(await rpc(agent.url, 'ListTaskPushNotificationConfigs', { taskId }, bearer(alice))).configs.map((c: any) => c.id), [second.id]);
    assertInvalidParams(await rpc(agent.url, 'GetTaskPushNotificationConfig', { taskId, id: 'cfg-1' }, bearer(alice)), 'params.id');
    // Deleting again is not an error: a delete is idempotent (its first answer may have been lost).
    assert.deepEqual(ok(await rpc(agent.url, 'DeleteTaskPushNotificationConfig', { taskId, id: 'cfg-1' }, bearer(alice))), {});
    assert.deepEqual(ok(await rpc(agent.url, 'ListTaskPushNotificationConfigs', { taskId }, bearer(alice))).configs.map((c: any) => c.id), [second.id]);
  });

  test('0.3: set, get (with and without a config id), list and delete in 0.3 shapes', async () => {
    const task = ok(await rpc(agent.url, 'message/send', { message: v03Message('v03'), configuration: { blocking: false } }, { ...bearer(alice), ...V03 }));
    const taskId = task.id;
    const headers = { ...bearer(alice), ...V03 };
    const set = ok(
      await rpc(
        agent.url,
        'tasks/pushNotificationConfig/set',
        { taskId, pushNotificationConfig: { id: 'c03', url: hook, token: 't03', authentication: { schemes: ['Basic'], credentials: 'dXNlcjpwdw==' } } },
        headers,
      ),
    );
    const expected = { taskId, pushNotificationConfig: { id: 'c03', url: hook, token: 't03', authentication: { schemes: ['Basic'] } } };
    assert.deepEqual(set, expected);
    assert.deepEqual(ok(await rpc(agent.url, 'tasks/pushNotificationConfig/get', { id: taskId, pushNotificationConfigId: 'c03' }, headers)), expected);
    assert.deepEqual(ok(await rpc(agent.url, 'tasks/pushNotificationConfig/get', { id: taskId }, headers)), expected);
    assert.deepEqual(ok(await rpc(agent.url, 'tasks/pushNotificationConfig/list', { id: taskId }, headers)), [expected]);
    const deleted = await rpc(agent.url, 'tasks/pushNotificationConfig/delete', { id: taskId, pushNotificationConfigId: 'c03' }, headers);
    assert.equal(deleted.body.error, undefined);
    assert.equal(deleted.body.result, null);
    assert.deepEqual(ok(await rpc(agent.url, 'tasks/pushNotificationConfig/list', { id: taskId }, headers)), []);
  });

  test("another caller's task and its configs are not found", async () => {
    const taskId = await aliceTask();
    ok(await rpc(agent.url, 'CreateTaskPushNotificationConfig', { taskId, id: 'mine', url: hook, authentication: { scheme: 'Bearer', credentials: 'x' } }, bearer(alice)));
    for (const [method, params] of [
      ['GetTaskPushNotificationConfig', { taskId, id: 'mine' }],
      ['ListTaskPushNotificationConfigs', { taskId }],
      ['DeleteTaskPushNotificationConfig', { taskId, id: 'mine' }],
      ['CreateTaskPushNotificationConfig', { taskId, url: hook }],
    ] as const) {
      const error = assertRpcError((await rpc(agent.url, method, params, bearer(bob))).body, -32001);
      assert.equal(errorInfo(error).reason, 'TASK_NOT_FOUND', method);
    }
    // Still there for its owner, unchanged.
    assert.equal(ok(await rpc(agent.url, 'ListTaskPushNotificationConfigs', { taskId }, bearer(alice))).configs.length, 1);
    const hijack = await rpc(agent.url, 'SendMessage', { message: { ...message('hijack'), taskId }, configuration: { taskPushNotificationConfig: { url: hook } } }, bearer(bob));
    assertRpcError(hijack.body, -32001);
  });

  test('webhooks the egress guard refuses are refused at creation, without a connection', async () => {
    const taskId = await aliceTask();
    const refused: [string, RegExp][] = [
      ['http://127.0.0.1:9/hook', /loopback/],
      ['http://[::1]/hook', /loopback/],
      ['http://10.1.2.3/hook', /private/],
      ['http://192.168.0.10/hook', /private/],
      ['http://169.254.169.254/latest/meta-data/', /metadata|link-local/],
      ['http://metadata.google.internal/computeMetadata/v1/', /metadata/],
      ['http://0.0.0.0/hook', /unspecified/],
    ];
    for (const [url, why] of refused) {
      const error = assertInvalidParams(await rpc(agent.url, 'CreateTaskPushNotificationConfig', { taskId, url }, bearer(alice)), 'params.url');
      assert.match(error.message, why, url);
      assert.match(error.message, /EGRESS_ALLOW/);
    }
    assert.deepEqual(ok(await rpc(agent.url, 'ListTaskPushNotificationConfigs', { taskId }, bearer(alice))).configs, []);
    // Inline in a send: refused before any task starts.
    const aliceTasks = async () => ok(await rpc(agent.url, 'ListTasks', {}, bearer(alice))).totalSize as number;
    const before = await aliceTasks();
    const inline = await rpc(agent.url, 'SendMessage', { message: message('inline'), configuration: { taskPushNotificationConfig: { url: 'http://10.0.0.1/x' } } }, bearer(alice));
    assertInvalidParams(inline, 'params.configuration.taskPushNotificationConfig.url');
    const v03 = await rpc(agent.url, 'message/send', { message: v03Message('inline'), configuration: { pushNotificationConfig: { url: 'http://127.0.0.1/x' } } }, { ...bearer(alice), ...V03 });
    assertInvalidParams(v03, 'params.configuration.pushNotificationConfig.url');
    assert.equal(await aliceTasks(), before);
  });

  test('hostile configs are refused with the field named; the cap on configs per task holds', async () => {
    const taskId = await aliceTask();
    const create = (params: Record<string, unknown>) => rpc(agent.url, 'CreateTaskPushNotificationConfig', { taskId, ...params }, bearer(alice));
    assertInvalidParams(await create({ url: `${hook}/${'a'.repeat(5000)}` }), 'params.url');
    assertInvalidParams(await create({ url: 'not a url' }), 'params.url');
    assertInvalidParams(await create({ url: '\u0000\u0001garbage' }), 'params.url');
    for (const url of ['ftp://hooks.example.com/x', 'file:///etc/passwd', 'javascript:alert(1)', 'gopher://hooks.example.com/']) {
      assert.match(assertInvalidParams(await create({ url }), 'params.url').message, /http or https/);
    }
    assertInvalidParams(await create({ url: 'https://user:pw@hooks.example.com/' }), 'params.url');
    assertInvalidParams(await create({ url: 42 }), 'params.url');
    assertInvalidParams(await create({}), 'params.url');
    assertInvalidParams(await create({ url: hook, token: 't'.repeat(600) }), 'params.token');
    assertInvalidParams(await create({ url: hook, token: 'evil\r\nX-Injected: 1' }), 'params.token');
    assertInvalidParams(await create({ url: hook, authentication: { scheme: 'Bearer', credentials: 'a\nb' } }), 'params.authentication.credentials');
    assertInvalidParams(await create({ url: hook, authentication: { scheme: 'Bearer x', credentials: 'c' } }), 'params.authentication.scheme');
    assertInvalidParams(await create({ url: hook, authentication: { scheme: 'Bearer', credentials: 'c'.repeat(5000) } }), 'params.authentication.credentials');
    assertInvalidParams(await create({ url: hook, id: 'x'.repeat(200) }), 'params.id');
    assertInvalidParams(await create({ url: hook, id: '../../etc' }), 'params.id');

    for (let i = 0; i < MAX_CONFIGS; i++) ok(await create({ id: `c${i}`, url: hook }));
    const over = assertInvalidParams(await create({ id: 'one-more', url: hook }), 'params.url');
    assert.match(over.message, new RegExp(`already has ${MAX_CONFIGS} push configs`));
    // Replacing one by its id is not one more.
    ok(await create({ id: 'c0', url: `${hook}/again` }));
    assertRpcError((await rpc(agent.url, 'CreateTaskPushNotificationConfig', { taskId: 'no-such-task', url: hook }, bearer(alice))).body, -32001);
  });
});

describe('PUSH_NOTIFICATIONS=false', () => {
  let agent: TestAgent;
  before(async () => {
    agent = await startTestAgent({ PUSH_NOTIFICATIONS: 'false' });
  });
  after(() => agent.dispose());

  test('the card says pushNotifications: false, and every push-config method is PushNotificationNotSupported', async () => {
    for (const path of ['/.well-known/agent-card.json', '/.well-known/agent.json']) {
      const card = (await (await fetch(`${agent.url}${path}`)).json()) as { capabilities: { pushNotifications: boolean } };
      assert.equal(card.capabilities.pushNotifications, false, path);
    }
    const taskId = ok(await rpc(agent.url, 'SendMessage', { message: { role: 'ROLE_USER', messageId: `off-${process.pid}`, parts: [{ text: 'x' }] } })).task.id;
    for (const method of ['CreateTaskPushNotificationConfig', 'GetTaskPushNotificationConfig', 'ListTaskPushNotificationConfigs', 'DeleteTaskPushNotificationConfig']) {
      const error = assertRpcError((await rpc(agent.url, method, { taskId, id: 'x', url: 'https://hooks.example.com/' })).body, -32003);
      assert.equal(errorInfo(error).reason, 'PUSH_NOTIFICATION_NOT_SUPPORTED', method);
    }
    const deadLetters = await fetch(`${agent.url}/push/dead-letters`);
    assert.equal(deadLetters.status, 404);
    await deadLetters.arrayBuffer();
  });
});
