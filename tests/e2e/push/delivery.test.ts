import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createLocalJWKSet, jwtVerify } from 'jose';
import type { JSONWebKeySet } from 'jose';
import { cli } from '../../cli/run.js';
import { writeCardKey } from '../../support/card-keys.js';
import { readMetric } from '../../support/metrics.js';
import { hookUrl, PushReceiver } from '../../support/push-receiver.js';
import type { Received } from '../../support/push-receiver.js';
import { rpc } from '../../support/rpc.js';
import { freePort, freePortDecade, startService } from '../../support/service-process.js';
import type { ServiceProcess } from '../../support/service-process.js';
import { waitFor } from '../../support/wait.js';
import { ok, V03, v03Message } from '../http/helpers.js';

// Push deliveries end to end: kagent as a real process, the webhook receiver as
// another, both on loopback (EGRESS_ALLOW admits it). Nothing is mocked; the
// receiver is down, up, failing or silent as each scenario needs.

const FAST_RETRIES = {
  EGRESS_ALLOW: '127.0.0.1',
  PUSH_RETRY_BASE: '50ms',
  PUSH_RETRY_MAX: '200ms',
  PUSH_POLL_INTERVAL: '50ms',
};

let counter = 0;
function message(text: string): Record<string, unknown> {
  return { role: 'ROLE_USER', messageId: `push-${process.pid}-${counter++}`, parts: [{ text }], metadata: { skill: 'echo' } };
}

/** What a receiver got for one task, in the order it got it. */
function forTask(received: readonly Received[], taskId: string): Received[] {
  return received.filter((r) => JSON.stringify(r.body).includes(taskId));
}

/** 1.0 StreamResponse bodies as short labels: task:SUBMITTED, status:WORKING, artifact, status:COMPLETED. */
function labelsV1(received: readonly Received[]): string[] {
  return received.map(({ body }) => {
    if (body.task !== undefined) return `task:${body.task.status.state.replace('TASK_STATE_', '')}`;
    if (body.statusUpdate !== undefined) return `status:${body.statusUpdate.status.state.replace('TASK_STATE_', '')}`;
    if (body.artifactUpdate !== undefined) return 'artifact';
    return `unexpected ${JSON.stringify(body)}`;
  });
}

/** The same for 0.3 bodies, told apart by `kind`. */
function labelsV03(received: readonly Received[]): string[] {
  return received.map(({ body }) => (body.kind === 'task' ? `task:${body.status.state}` : body.kind === 'status-update' ? `status:${body.status.state}` : body.kind));
}

const ECHO_V1 = ['task:SUBMITTED', 'status:WORKING', 'artifact', 'status:COMPLETED'];

describe('push deliveries survive a receiver that is down and a kagent restart', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kagent-push-restart-'));
  let agent: ServiceProcess | undefined;
  let receiver: PushReceiver | undefined;

  after(async () => {
    await agent?.dispose();
    await receiver?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('every event arrives, in order, once the receiver is up, although kagent restarted in between', async () => {
    // Held (below the ephemeral range) until the receiver takes it: no process started meanwhile can be handed it.
    const ports = await freePortDecade();
    const port = ports.port(0);
    agent = await startService(dir, FAST_RETRIES);
    const config = { url: hookUrl(port, '/hook?from=kagent'), token: 'tok-1', authentication: { scheme: 'Bearer', credentials: 'receiver-secret' } };
    const v1Task = ok(await rpc(agent.url, 'SendMessage', { message: message('pushed 1.0'), configuration: { taskPushNotificationConfig: config } })).task;
    const v03Task = ok(
      await rpc(
        agent.url,
        'message/send',
        { message: v03Message('pushed 0.3', { metadata: { skill: 'echo' } }), configuration: { pushNotificationConfig: { url: hookUrl(port, '/v03'), token: 'tok-03' } } },
        V03,
      ),
    );
    assert.equal(v1Task.status.state, 'TASK_STATE_COMPLETED');
    assert.equal(v03Task.status.state, 'completed');
    // The receiver is down: deliveries fail and are retried.
    const running = agent;
    await waitFor('a failed delivery to be retried', async () => (await readMetric(running.url, 'a2a_push_deliveries_total', { outcome: 'retry' })) >= 2);
    assert.equal(await readMetric(running.url, 'a2a_push_deliveries_total', { outcome: 'delivered' }), 0);

    running.child.kill('SIGTERM');
    assert.equal((await running.waitExit()).code, 0, running.output());
    agent = await startService(dir, FAST_RETRIES);
    receiver = await PushReceiver.start(await ports.take(0));
    const active = receiver;
    const received = await waitFor('every event at the receiver', async () => {
      const all = await active.received();
      return forTask(all, v1Task.id).length >= 4 && forTask(all, v03Task.id).length >= 4 && all;
    });

    const v1 = forTask(received, v1Task.id);
    assert.deepEqual(labelsV1(v1), ECHO_V1);
    for (const r of v1) {
      assert.equal(r.path, '/hook?from=kagent');
      assert.equal(r.contentType, 'application/a2a+json');
      assert.equal(r.authorization, 'Bearer receiver-secret');
      assert.equal(r.token, 'tok-1');
      assert.equal(r.goToken, 'tok-1');
    }
    assert.equal(v1[3]!.body.statusUpdate.taskId, v1Task.id);
    assert.deepEqual(v1[2]!.body.artifactUpdate.artifact.parts, [{ text: 'pushed 1.0' }]);

    const v03 = forTask(received, v03Task.id);
    assert.deepEqual(labelsV03(v03), ['task:submitted', 'status:working', 'artifact-update', 'status:completed']);
    for (const r of v03) {
      assert.equal(r.contentType, 'application/json');
      assert.equal(r.authorization, undefined, 'a config without authentication sends no Authorization');
      assert.equal(r.token, 'tok-03');
    }
    assert.equal(v03[3]!.body.final, true);

    // One delivery id each, in the order the events were written.
    const ids = received.map((r) => r.deliveryId);
    assert.equal(new Set(ids).size, ids.length, `a delivery arrived twice: ${ids.join(', ')}`);
    const numbers = v1.map((r) => Number(r.deliveryId.split('.').pop()));
    assert.deepEqual([...numbers].sort((a, b) => a - b), numbers);
    // The receiver notes a delivery before it answers; the sender counts it once the answer is read.
    const sender = agent;
    const delivered = () => readMetric(sender.url, 'a2a_push_deliveries_total', { outcome: 'delivered' });
    await waitFor('every delivery received to be counted as delivered', async () => (await delivered()) >= received.length);
    assert.equal(await delivered(), received.length);
  });
});

describe('push deliveries a receiver never takes end as dead letters, listed and retried by the CLI', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kagent-push-dead-'));
  let agent: ServiceProcess;
  let failing: PushReceiver;
  let silent: PushReceiver;
  let redirecting: PushReceiver;

  before(async () => {
    [failing, silent, redirecting] = await Promise.all(
      (['fail', 'hang', 'redirect'] as const).map(async (mode) => PushReceiver.start(await freePort(), mode)),
    );
    agent = await startService(dir, { ...FAST_RETRIES, PUSH_MAX_ATTEMPTS: '2', PUSH_TIMEOUT: '500ms' });
  });

  after(async () => {
    await agent.dispose();
    await Promise.all([failing.stop(), silent.stop(), redirecting.stop()]);
    rmSync(dir, { recursive: true, force: true });
  });

  interface Letter {
    id: number;
    taskId: string;
    configId: string;
    origin: string;
    attempts: number;
    lastError: string;
  }

  async function deadLetters(): Promise<Letter[]> {
    const run = await cli(['push', 'dead-letters', agent.url, '--json']);
    assert.equal(run.code, 0, run.stderr);
    return JSON.parse(run.stdout) as Letter[];
  }

  test('a receiver that always fails: each event is a dead letter after its attempts; retried, it is delivered', async () => {
    const config = { url: hookUrl(failing.port, '/secret-path?key=abc'), authentication: { scheme: 'Bearer', credentials: 'never-shown' } };
    const task = ok(await rpc(agent.url, 'SendMessage', { message: message('to a failing receiver'), configuration: { taskPushNotificationConfig: config } })).task;
    const letters = await waitFor('four dead letters', async () => {
      const all = (await deadLetters()).filter((l) => l.taskId === task.id);
      return all.length === 4 && all;
    });
    for (const letter of letters) {
      assert.equal(letter.attempts, 2);
      assert.equal(letter.origin, `http://127.0.0.1:${failing.port}`);
      assert.match(letter.lastError, /answered 500/);
    }
    const human = await cli(['push', 'dead-letters', agent.url]);
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, new RegExp(`${letters[0]!.id}  task ${task.id}`));
    for (const output of [human.stdout, JSON.stringify(letters)]) {
      assert.doesNotMatch(output, /never-shown|secret-path|key=abc/, 'a dead letter shows neither the credentials nor the webhook path');
    }
    assert.ok((await readMetric(agent.url, 'a2a_push_deliveries_total', { outcome: 'dead_letter' })) >= 4);

    await failing.setMode('ok');
    const first = letters[0]!;
    const retried = await cli(['push', 'retry', agent.url, String(first.id)]);
    assert.equal(retried.code, 0, retried.stderr);
    assert.match(retried.stdout, new RegExp(`dead letter ${first.id} is queued for delivery again`));
    const got = await waitFor('the retried dead letter at the receiver', async () => {
      const all = forTask(await failing.received(), task.id);
      return all.length > 0 && all;
    });
    assert.deepEqual(labelsV1(got), ['task:SUBMITTED']);
    await waitFor('the retried letter gone from the list', async () => !(await deadLetters()).some((l) => l.id === first.id));
    assert.equal(await readMetric(agent.url, 'a2a_push_dead_letters_retried_total'), 1);

    // An id the caller has no dead letter under is refused, not silently accepted.
    const missing = await cli(['push', 'retry', agent.url, '999999999']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no dead letter 999999999/);
    const usage = await cli(['push', 'retry', agent.url, 'abc']);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /is a number/);
  });

  /** Sends a task whose events go to the receiver, and waits until all four are dead letters. */
  async function deadLettersOf(receiver: PushReceiver): Promise<Letter[]> {
    const configuration = { taskPushNotificationConfig: { url: hookUrl(receiver.port) } };
    const task = ok(await rpc(agent.url, 'SendMessage', { message: message('to a receiver that takes nothing'), configuration })).task;
    return waitFor(`the dead letters of task ${task.id}`, async () => {
      const all = (await deadLetters()).filter((l) => l.taskId === task.id);
      return all.length === 4 && all;
    });
  }

  test('a receiver that never answers: each attempt ends at PUSH_TIMEOUT, then the dead letter says so', async () => {
    for (const letter of await deadLettersOf(silent)) assert.match(letter.lastError, /did not answer within 500 ms/);
  });

  test('a receiver that redirects is not followed (the redirect points at a metadata address): the delivery fails', async () => {
    for (const letter of await deadLettersOf(redirecting)) assert.match(letter.lastError, /answered 307 \(redirects are not followed\)/);
  });
});

describe('PUSH_SIGN_DELIVERIES: each delivery carries a JWT signed with the card key', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kagent-push-signed-'));
  let agent: ServiceProcess;
  let receiver: PushReceiver;

  before(async () => {
    receiver = await PushReceiver.start(await freePort());
    const key = writeCardKey(dir, 'card', 'ec');
    agent = await startService(join(dir, 'data'), { ...FAST_RETRIES, PUSH_SIGN_DELIVERIES: 'true', CARD_SIGNING_KEY_FILE: key.privateFile });
  });

  after(async () => {
    await agent.dispose();
    await receiver.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the signature verifies against /.well-known/jwks.json and covers the body, the URL and the delivery id', async () => {
    const url = hookUrl(receiver.port, '/signed');
    const task = ok(await rpc(agent.url, 'SendMessage', { message: message('signed'), configuration: { taskPushNotificationConfig: { url } } })).task;
    const got = await waitFor('the signed deliveries', async () => {
      const all = forTask(await receiver.received(), task.id);
      return all.length === 4 && all;
    });
    const jwks = createLocalJWKSet((await (await fetch(`${agent.url}/.well-known/jwks.json`)).json()) as JSONWebKeySet);
    const jtis = new Set<unknown>();
    for (const r of got) {
      assert.ok(r.signature, 'a signed delivery carries A2A-Notification-Signature');
      const { payload } = await jwtVerify(r.signature, jwks, { audience: url, issuer: agent.url, maxTokenAge: '5m' });
      assert.equal(payload.request_body_sha256, r.bodySha256);
      assert.equal(payload.delivery_id, r.deliveryId);
      jtis.add(payload.jti);
    }
    assert.equal(jtis.size, got.length, 'every signature has its own jti');
    // A body changed on the way no longer matches what was signed.
    const { payload } = await jwtVerify(got[0]!.signature!, jwks, { audience: url });
    assert.notEqual(payload.request_body_sha256, got[1]!.bodySha256);
  });
});
