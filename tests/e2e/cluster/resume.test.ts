import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { waitFor } from '../../support/wait.js';
import { collect, openStream, rpc } from '../../support/rpc.js';
import { startService } from '../../support/service-process.js';
import type { ServiceProcess } from '../../support/service-process.js';
import { hangingReply, startChatServer, textReply } from '../../skills/assistant/chat-server.js';
import type { ChatServer } from '../../skills/assistant/chat-server.js';
import { scrape } from '../../support/metrics.js';

// One pod as a real process on a real data dir (per-pod SQLite), killed with
// SIGKILL or stopped with SIGTERM mid-task and started again under the same
// name: what a rolling update or a crash does to it. The language model is a
// scripted chat-completions server on loopback (no paid API may be called).

const RESUMED = /resumed after the restart from the stored request/;

let counter = 0;
function message(text: string, metadata: Record<string, unknown>): Record<string, unknown> {
  return { role: 'ROLE_USER', messageId: `resume-${process.pid}-${counter++}`, parts: [{ text }], metadata };
}

function textOf(message: { parts?: { text?: string }[] } | undefined): string {
  return (message?.parts ?? []).map((p) => p.text ?? '').join('');
}

async function getTask(url: string, id: string): Promise<any> {
  const got = await rpc(url, 'GetTask', { id });
  assert.ok(got.body.result, JSON.stringify(got.body));
  return got.body.result;
}

/** The agent messages of a task's history that announce a resume. */
function resumeNotes(task: any): string[] {
  return (task.history as any[]).filter((m) => m.role === 'ROLE_AGENT' && RESUMED.test(textOf(m))).map(textOf);
}

describe('a restarted pod resumes the tasks of resumable skills it was running', () => {
  const dirs: string[] = [];
  const running: ServiceProcess[] = [];
  let chat: ChatServer | undefined;
  const newDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'kagent-resume-'));
    dirs.push(dir);
    return dir;
  };
  const start = async (dir: string, env: Record<string, string> = {}) => {
    const svc = await startService(dir, { STREAM_HEARTBEAT_INTERVAL: '200ms', ...env });
    running.push(svc);
    return svc;
  };
  const kill = async (svc: ServiceProcess) => {
    svc.child.kill('SIGKILL');
    assert.equal((await svc.waitExit(10_000)).signal, 'SIGKILL');
  };

  after(async () => {
    await Promise.all(running.map((svc) => svc.dispose()));
    await chat?.close();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  test('a task running when the pod is killed runs again from its stored request, on the same task and stream', { timeout: 60_000 }, async () => {
    const dir = newDir();
    let svc = await start(dir);
    const sent = message('resume me', { delayMs: 5000, note: 'kept' });
    const stream = await openStream(svc.url, 'SendStreamingMessage', { message: sent });
    const events = stream.events();
    const first = (await events.next()).value;
    const id: string = first.result.task.id;
    for (let e = await events.next(); !e.done; e = await events.next()) {
      if (e.value.result.statusUpdate?.status.state === 'TASK_STATE_WORKING') break;
    }
    await kill(svc);
    const cut: any[] = [];
    for (let e = await events.next().catch(() => ({ done: true as const, value: undefined })); !e.done; e = await events.next()) cut.push(e.value);
    assert.ok(!cut.some((e) => e.result.statusUpdate?.status.state === 'TASK_STATE_COMPLETED'), 'the kill landed before the task could finish');

    svc = await start(dir);
    // The line travels through the process's stdout pipe: wait for it rather than read once.
    await waitFor('the log line naming the resumed task', () => /"tasks":1,"msg":"resumed tasks that were running when the agent last stopped"/.test(svc.output()));
    // A subscriber reconnecting sees the task go on under the same id, then its result.
    const again = await collect(await openStream(svc.url, 'SubscribeToTask', { id }));
    assert.equal(again[0].result.task.id, id);
    assert.equal(again[0].result.task.status.state, 'TASK_STATE_WORKING');
    const seen = [again[0].result.task.status.message, ...again[0].result.task.history, ...again.slice(1).map((e) => e.result.statusUpdate?.status.message)];
    assert.ok(seen.some((m) => RESUMED.test(textOf(m))), `the resume is announced: ${JSON.stringify(again[0])}`);
    const last = again.at(-1).result.statusUpdate;
    assert.equal(last?.status.state, 'TASK_STATE_COMPLETED', JSON.stringify(again.at(-1)));
    assert.ok(again.some((e) => textOf(e.result.artifactUpdate?.artifact) === 'resume me'));

    const task = await getTask(svc.url, id);
    assert.equal(task.status.state, 'TASK_STATE_COMPLETED');
    assert.deepEqual(task.history[0].metadata, { delayMs: 5000, note: 'kept' }, 'the stored request, metadata included');
    assert.equal(task.history.filter((m: any) => m.role === 'ROLE_USER').length, 1);
    assert.deepEqual(resumeNotes(task), ['the agent restarted while this task was running; resumed after the restart from the stored request (resume 1 of at most 3)']);
    assert.deepEqual(task.artifacts.map(textOf), ['resume me']);
    // The delay was honoured again: the resumed run reported its progress like the first one.
    assert.ok(task.history.filter((m: any) => /^echoing in 5000 ms$/.test(textOf(m))).length === 2, JSON.stringify(task.history.map(textOf)));
    const metrics = await scrape(svc.url);
    assert.match(metrics, /^a2a_tasks_resumed_total\{trigger="restart"\} 1$/m);
  });

  test('a task that is interrupted again after MAX_RESUMES resumes is failed with the reason, not resumed forever', { timeout: 90_000 }, async () => {
    const dir = newDir();
    const env = { MAX_RESUMES: '2' };
    let svc = await start(dir, env);
    const sent = await rpc(svc.url, 'SendMessage', { message: message('crashes every time', { delayMs: 600_000 }), configuration: { returnImmediately: true } });
    const id: string = sent.body.result.task.id;
    await waitFor('the task to run', async () => (await getTask(svc.url, id)).status.state === 'TASK_STATE_WORKING', 10_000);
    for (let resume = 1; resume <= 2; resume++) {
      await kill(svc);
      svc = await start(dir, env);
      const task = await getTask(svc.url, id);
      assert.equal(task.status.state, 'TASK_STATE_WORKING');
      assert.equal(resumeNotes(task).length, resume);
      assert.match(resumeNotes(task).at(-1)!, new RegExp(`resume ${resume} of at most 2`));
    }
    await kill(svc);
    svc = await start(dir, env);
    const task = await getTask(svc.url, id);
    assert.equal(task.status.state, 'TASK_STATE_FAILED');
    assert.equal(
      textOf(task.status.message),
      'the agent restarted while this task was running; it had been resumed 2 times already and was interrupted each time, so it is not resumed again (at most 2); send the request again if it should run',
    );
    // The line travels through the process's stdout pipe: wait for it rather than read once.
    await waitFor('the log line naming the failed task', () => /"tasks":1,"msg":"failed tasks that were running when the agent last stopped"/.test(svc.output()));
    // Nothing runs it any more.
    assert.equal((await rpc(svc.url, 'ListTasks', { status: 'TASK_STATE_WORKING' })).body.result.totalSize, 0);
  });

  test('SIGTERM with a drain that runs out leaves a resumable task for the next start and fails the others', { timeout: 60_000 }, async () => {
    chat ??= await startChatServer();
    // The model never answers: the assistant's turn cannot finish before the drain runs out.
    chat.enqueue(hangingReply());
    const dir = newDir();
    const env = { DRAIN_TIMEOUT: '300ms', LLM_URL: chat.baseUrl, LLM_MODEL: 'scripted-model' };
    let svc = await start(dir, env);
    const echo = await rpc(svc.url, 'SendMessage', { message: message('long echo', { delayMs: 600_000 }), configuration: { returnImmediately: true } });
    const asked = chat.requests.length;
    const assistant = await rpc(svc.url, 'SendMessage', {
      message: message('why is my pod pending?', { skill: 'assistant' }),
      configuration: { returnImmediately: true },
    });
    const echoId: string = echo.body.result.task.id;
    const assistantId: string = assistant.body.result.task.id;
    await waitFor('both tasks to run', async () => (await getTask(svc.url, echoId)).status.state === 'TASK_STATE_WORKING' && chat!.requests.length > asked, 10_000);

    svc.child.kill('SIGTERM');
    assert.deepEqual(await svc.waitExit(15_000), { code: 0, signal: null });
    // The line travels through the process's stdout pipe: wait for it rather than read once.
    await waitFor('the log line naming the task left for a resume', () => /"tasks":1,"msg":"left running tasks to be resumed: they did not finish within DRAIN_TIMEOUT"/.test(svc.output()));

    svc = await start(dir, env);
    const failed = await getTask(svc.url, assistantId);
    assert.equal(failed.status.state, 'TASK_STATE_FAILED', 'the assistant is not resumable by default');
    assert.equal(textOf(failed.status.message), 'the agent shut down before the task finished; send the request again');

    const resumed = await getTask(svc.url, echoId);
    assert.equal(resumed.status.state, 'TASK_STATE_WORKING');
    assert.equal(resumeNotes(resumed).length, 1);
    assert.ok(!resumed.history.some((m: any) => /shut down/.test(textOf(m))), 'the drain wrote nothing to the resumable task');
    assert.equal((await rpc(svc.url, 'CancelTask', { id: echoId })).body.result?.status.state, 'TASK_STATE_CANCELED');
  });

  test('the assistant is resumed after a restart only with ASSISTANT_RESUMABLE, and its answer replaces the partial one', { timeout: 60_000 }, async () => {
    chat ??= await startChatServer();
    const dir = newDir();
    const env = { LLM_URL: chat.baseUrl, LLM_MODEL: 'scripted-model' };
    const ask = async (svc: ServiceProcess, question: string) => {
      const before = chat!.requests.length;
      const sent = await rpc(svc.url, 'SendMessage', { message: message(question, { skill: 'assistant' }), configuration: { returnImmediately: true } });
      const id: string = sent.body.result.task.id;
      await waitFor('the model to be asked', () => chat!.requests.length > before, 10_000);
      return id;
    };

    chat.enqueue(hangingReply());
    let svc = await start(dir, env);
    const paid = await ask(svc, 'first question');
    await kill(svc);
    svc = await start(dir, env);
    const failed = await getTask(svc.url, paid);
    assert.equal(failed.status.state, 'TASK_STATE_FAILED');
    assert.equal(textOf(failed.status.message), 'the agent restarted while this task was running; send the request again');

    // Part of an answer is streamed, then the model stalls and the pod dies.
    chat.enqueue(hangingReply(['partial ', 'answer ', 'cut'], 150));
    const resumable = await ask(svc, 'second question');
    await waitFor('part of the answer to be stored', async () => (await getTask(svc.url, resumable)).artifacts?.length === 1, 10_000);
    await kill(svc);
    const asked = chat.requests.length;
    chat.enqueue(textReply(['the whole ', 'answer']));
    svc = await start(dir, { ...env, ASSISTANT_RESUMABLE: 'true' });
    await waitFor('the resumed turn to complete', async () => (await getTask(svc.url, resumable)).status.state === 'TASK_STATE_COMPLETED', 15_000);
    const task = await getTask(svc.url, resumable);
    assert.equal(resumeNotes(task).length, 1);
    assert.deepEqual(task.artifacts.map(textOf), ['the whole answer'], 'one answer: the resumed turn replaced the partial one');
    const resent = chat.requests[asked]!.body.messages as { role: string; content: string }[];
    assert.deepEqual(resent.filter((m) => m.role === 'user').map((m) => m.content), ['second question'], 'the model is asked the stored question again');
  });

  test('a task is resumed in its caller\'s name, and not at all once that caller may no longer use the skill', { timeout: 60_000 }, async () => {
    const dir = newDir();
    const keys = join(dir, 'keys');
    mkdirSync(keys);
    writeFileSync(join(keys, 'alice'), 'alice-key-0123456789abcdef');
    writeFileSync(join(keys, 'bob'), 'bob-key-0123456789abcdef01');
    const as = (who: 'alice' | 'bob') => ({ 'A2A-Version': '1.0', 'X-API-Key': `${who}-key-0123456789abcdef${who === 'bob' ? '01' : ''}` });
    const env = { AUTH_MODE: 'apikey', AUTH_API_KEYS_DIR: keys };
    const send = async (svc: ServiceProcess, text: string) => {
      const sent = await rpc(svc.url, 'SendMessage', { message: message(text, { delayMs: 600_000 }), configuration: { returnImmediately: true } }, as('alice'));
      assert.ok(sent.body.result, JSON.stringify(sent.body));
      const id: string = sent.body.result.task.id;
      await waitFor('the task to run', async () => (await rpc(svc.url, 'GetTask', { id }, as('alice'))).body.result?.status.state === 'TASK_STATE_WORKING', 10_000);
      return id;
    };

    let svc = await start(dir, env);
    const kept = await send(svc, 'alice may go on');
    await kill(svc);
    svc = await start(dir, { ...env, SKILL_PERMISSIONS: 'echo=alice' });
    const resumed = (await rpc(svc.url, 'GetTask', { id: kept }, as('alice'))).body.result;
    assert.equal(resumed.status.state, 'TASK_STATE_WORKING');
    assert.equal(resumeNotes(resumed).length, 1);
    assert.equal((await rpc(svc.url, 'GetTask', { id: kept }, as('bob'))).body.error?.code, -32001, 'the resumed task is still alice\'s alone');
    assert.equal((await rpc(svc.url, 'CancelTask', { id: kept }, as('alice'))).body.result?.status.state, 'TASK_STATE_CANCELED');

    const revoked = await send(svc, 'alice may not go on');
    await kill(svc);
    svc = await start(dir, { ...env, SKILL_PERMISSIONS: 'echo=bob' });
    const failed = (await rpc(svc.url, 'GetTask', { id: revoked }, as('alice'))).body.result;
    assert.equal(failed.status.state, 'TASK_STATE_FAILED');
    assert.equal(
      textOf(failed.status.message),
      'the agent restarted while this task was running; its caller may no longer use the echo skill, so it is not run again',
    );
    assert.equal(resumeNotes(failed).length, 0);
  });
});
