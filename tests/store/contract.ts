import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Artifact, ListTasksQuery, Task, VersionedEvent } from '../../src/model/model.js';
import { TASK_STATES } from '../../src/model/model.js';
import type { RunChange, TaskStore } from '../../src/store/task-store.js';
import { ALICE, ALICE_ELSEWHERE, BOB, T0, agentMessage, buildTask, seed, status, userMessage } from './fixtures.js';

/** A store under test with access to its database behind the store's back. */
export interface StoreUnderTest {
  readonly store: TaskStore;
  /** Closes the store (when open) and opens another one on the same data. */
  reopen(): Promise<TaskStore>;
  /** Rows of a table, optionally only those of some tasks, counted in the database itself. */
  countRows(table: 'tasks' | 'messages' | 'artifacts' | 'push_configs' | 'push_outbox' | 'task_events', taskIds?: readonly string[]): Promise<number>;
  /** Gives a task a push config and an outbox row, which nothing in the store writes yet. */
  addPushRows(taskId: string, configId: string): Promise<void>;
  /** Closes what is open and removes the data. */
  dispose(): Promise<void>;
}

export interface StoreFactory {
  /** Names the describe blocks, e.g. 'SqliteTaskStore'. */
  readonly name: string;
  /** A fresh, empty, open store; `durable` asks for the strictest durability the store offers. */
  create(label: string, options?: { durable?: boolean; eventsKept?: number }): Promise<StoreUnderTest>;
  /** How createTask refuses a request key the caller already used (the error is the database's). */
  readonly duplicateRequestKey: RegExp;
  /** Skips every suite, with this notice (a store whose server is missing). */
  readonly skip?: string | false;
}

export const ACTIVE = ['submitted', 'working'] as const;
export const NOT_TERMINAL = ['submitted', 'working', 'input-required', 'auth-required'] as const;

export function query(overrides: Partial<ListTasksQuery> = {}): ListTasksQuery {
  return { pageSize: 50, includeArtifacts: false, ...overrides };
}

export const text = (t: string) => ({ kind: 'text' as const, text: t });

/** The behaviour every TaskStore shares, whatever holds the data. */
export function registerStoreContract(factory: StoreFactory): void {
  describe(`${factory.name} tasks`, { skip: factory.skip ?? false }, () => {
    let subject: StoreUnderTest;
    let store: TaskStore;
    before(async () => {
      subject = await factory.create('tasks');
      store = subject.store;
    });
    after(async () => {
      await subject.dispose();
    });

    test('createTask then getTask returns the same task: status with message, history, metadata, no artifacts', async () => {
      const first = userMessage('m-rt', 'round trip', { taskId: 'kagent-0.rt', contextId: 'ctx-rt', metadata: { delayMs: 5 } });
      const task: Task = {
        id: 'kagent-0.rt',
        contextId: 'ctx-rt',
        status: status('submitted', T0, agentMessage('s-rt', 'queued')),
        artifacts: [],
        history: [first],
        metadata: { origin: 'test', nested: { n: 1, list: [true, null, 'x'] } },
      };
      const version = await store.createTask(task, { caller: ALICE, pod: 'kagent-0', skill: 'echo', requestKey: 'rk-rt' });
      assert.equal(version, 1);
      const stored = await store.getTask(ALICE, task.id);
      assert.ok(stored);
      assert.deepEqual(stored.task, task);
      assert.equal(stored.version, 1);
      assert.equal(stored.skill, 'echo');
      const head = await store.getHead(ALICE, task.id);
      assert.deepEqual(head, { id: task.id, contextId: 'ctx-rt', state: 'submitted', version: 1, skill: 'echo', pod: 'kagent-0' });
    });

    test('a task without metadata comes back without a metadata key', async () => {
      await seed(store, { id: 'kagent-0.nometa', at: T0 });
      const stored = await store.getTask(ALICE, 'kagent-0.nometa');
      assert.ok(stored);
      assert.equal('metadata' in stored.task, false);
    });

    test('createTask keeps every message of the initial history', async () => {
      const history = [
        userMessage('m-h1', 'first', { taskId: 'kagent-0.hist2', contextId: 'ctx-h' }),
        agentMessage('m-h2', 'second', { taskId: 'kagent-0.hist2', contextId: 'ctx-h' }),
      ];
      await seed(store, { id: 'kagent-0.hist2', at: T0, contextId: 'ctx-h', history });
      const stored = await store.getTask(ALICE, 'kagent-0.hist2');
      assert.deepEqual(
        stored?.task.history.map((m) => m.messageId),
        ['m-h1', 'm-h2'],
        'a task created with two history messages must keep both',
      );
    });

    test('getTask, getHead, findTaskByRequestKey and list are scoped by tenant and principal', async () => {
      await seed(store, { id: 'kagent-0.scoped', at: T0, requestKey: 'rk-scoped', contextId: 'ctx-scoped' });
      assert.ok(await store.getTask(ALICE, 'kagent-0.scoped'));
      for (const other of [BOB, ALICE_ELSEWHERE]) {
        assert.equal(await store.getTask(other, 'kagent-0.scoped'), undefined, `${other.tenant}/${other.principal} must not see it`);
        assert.equal(await store.getHead(other, 'kagent-0.scoped'), undefined);
        assert.equal(await store.findTaskByRequestKey(other, 'rk-scoped'), undefined);
        const page = await store.list(other, query({ contextId: 'ctx-scoped' }));
        assert.deepEqual(page.tasks, []);
        assert.equal(page.totalSize, 0);
      }
    });

    test('getTask of an unknown id is undefined', async () => {
      assert.equal(await store.getTask(ALICE, 'kagent-0.nope'), undefined);
      assert.equal(await store.getHead(ALICE, 'kagent-0.nope'), undefined);
    });

    test('historyLength: 0 gives none, N the most recent N in chronological order, undefined all', async () => {
      const id = 'kagent-0.history';
      await seed(store, { id, at: T0 });
      const a1 = agentMessage('a1', 'starting');
      const a2 = agentMessage('a2', 'need input');
      const u3 = userMessage('u3', 'here you are');
      const a4 = agentMessage('a4', 'done');
      assert.equal((await store.transition(id, { status: status('working', T0 + 1, a1), allowedFrom: ACTIVE })).applied, true);
      assert.equal((await store.transition(id, { status: status('input-required', T0 + 2, a2), allowedFrom: ACTIVE })).applied, true);
      assert.equal(
        (await store.transition(id, { status: status('working', T0 + 3), allowedFrom: ['input-required'], userMessage: { message: u3, key: 'k-u3' } })).applied,
        true,
      );
      assert.equal((await store.transition(id, { status: status('completed', T0 + 4, a4), allowedFrom: ACTIVE })).applied, true);

      const ids = async (n?: number) => (await store.getTask(ALICE, id, n))!.task.history.map((m) => m.messageId);
      assert.deepEqual(await ids(), [`m-${id}`, 'a1', 'a2', 'u3', 'a4']);
      assert.deepEqual(await ids(0), []);
      assert.deepEqual(await ids(1), ['a4']);
      assert.deepEqual(await ids(3), ['a2', 'u3', 'a4']);
      assert.deepEqual(await ids(50), [`m-${id}`, 'a1', 'a2', 'u3', 'a4']);
    });

    test('findTaskByRequestKey finds the task a first message created; the key is unique per caller', async () => {
      await seed(store, { id: 'kagent-0.req', at: T0, requestKey: 'rk-unique' });
      assert.equal(await store.findTaskByRequestKey(ALICE, 'rk-unique'), 'kagent-0.req');
      assert.equal(await store.findTaskByRequestKey(ALICE, 'rk-other'), undefined);

      // The task service relies on this refusal when the same message is sent twice at once.
      await assert.rejects(seed(store, { id: 'kagent-0.req-twin', at: T0, requestKey: 'rk-unique' }), factory.duplicateRequestKey);
      assert.equal(await store.getTask(ALICE, 'kagent-0.req-twin'), undefined);
      assert.equal(await store.hasMessage('kagent-0.req-twin', 'rk-unique'), false, 'the refused task left no message behind');

      // Another caller may use the same key.
      await seed(store, { id: 'kagent-0.req-bob', at: T0, requestKey: 'rk-unique', caller: BOB });
      assert.equal(await store.findTaskByRequestKey(BOB, 'rk-unique'), 'kagent-0.req-bob');
    });

    test('tasks created at once are each stored with their history; one whose request key is taken fails alone', async () => {
      const ids = Array.from({ length: 6 }, (_, i) => `kagent-0.together-${i}`);
      await seed(store, { id: 'kagent-0.together-first', at: T0, requestKey: 'rk-together-taken' });
      // Sent in one turn of the event loop: a store may write them together.
      const outcomes = await Promise.allSettled(
        ids.map((id, i) => seed(store, { id, at: T0 + i, state: i % 2 === 0 ? 'submitted' : 'working', ...(i === 3 ? { requestKey: 'rk-together-taken' } : {}) })),
      );
      assert.deepEqual(
        outcomes.map((o) => o.status),
        ['fulfilled', 'fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled'],
      );
      assert.match(String((outcomes[3] as PromiseRejectedResult).reason), factory.duplicateRequestKey);
      for (const [i, id] of ids.entries()) {
        const stored = await store.getTask(ALICE, id);
        if (i === 3) {
          assert.equal(stored, undefined);
          continue;
        }
        assert.equal(stored?.task.status.state, i % 2 === 0 ? 'submitted' : 'working');
        assert.deepEqual(stored?.task.history.map((m) => m.messageId), [`m-${id}`]);
        assert.equal(await store.findTaskByRequestKey(ALICE, `rk-${id}`), id);
      }
    });

    test('findTaskByAlias finds the task by the name its caller gave it; the name is unique per caller, and free again once the task is gone', async () => {
      // Older than every other task of this store: the retention pass below deletes this one alone.
      const old = T0 - 5_000_000;
      await seed(store, { id: 'kagent-0.al-1', at: old, alias: 'job-7', state: 'completed' });
      assert.equal(await store.findTaskByAlias(ALICE, 'job-7'), 'kagent-0.al-1');
      assert.equal(await store.findTaskByAlias(ALICE, 'job-8'), undefined);
      assert.equal(await store.findTaskByAlias(BOB, 'job-7'), undefined, 'another caller does not see the name');
      assert.equal(await store.findTaskByAlias(ALICE, 'kagent-0.al-1'), undefined, 'our id is no alias');
      // The task service relies on this refusal when two first sends under one name race.
      await assert.rejects(seed(store, { id: 'kagent-0.al-twin', at: T0, alias: 'job-7' }));
      assert.equal(await store.getTask(ALICE, 'kagent-0.al-twin'), undefined);
      // Another caller may use the same name; tasks without one do not collide.
      await seed(store, { id: 'kagent-0.al-bob', at: T0, alias: 'job-7', caller: BOB });
      assert.equal(await store.findTaskByAlias(BOB, 'job-7'), 'kagent-0.al-bob');
      await seed(store, { id: 'kagent-0.al-none-1', at: T0 });
      await seed(store, { id: 'kagent-0.al-none-2', at: T0 });
      // Retention deletes the ended task, and its name with it.
      assert.deepEqual(await store.deleteTerminalBefore(old + 1, 100), { completed: 1 });
      assert.equal(await store.findTaskByAlias(ALICE, 'job-7'), undefined);
      await seed(store, { id: 'kagent-0.al-2', at: T0 + 2, alias: 'job-7' });
      assert.equal(await store.findTaskByAlias(ALICE, 'job-7'), 'kagent-0.al-2');
    });

    test('hasMessage: the first message under the request key, status messages under their id', async () => {
      const id = 'kagent-0.has';
      await seed(store, { id, at: T0, requestKey: 'rk-has' });
      await store.transition(id, { status: status('working', T0 + 1, agentMessage('status-has', 'on it')), allowedFrom: ACTIVE });
      assert.equal(await store.hasMessage(id, 'rk-has'), true);
      assert.equal(await store.hasMessage(id, 'status-has'), true);
      assert.equal(await store.hasMessage(id, 'something-else'), false);
      assert.equal(await store.hasMessage('kagent-0.rt', 'rk-has'), false, 'keys belong to one task');
    });

    test('mergeTaskMetadata sets keys, keeps the others, survives a reopen, and makes no new version', async () => {
      const id = 'kagent-0.meta';
      await seed(store, { id, at: T0, metadata: { origin: 'test' } });
      assert.deepEqual(await store.taskMetadata(id), { origin: 'test' });
      await store.mergeTaskMetadata(id, { link: { taskId: 'remote-1', n: 2 } });
      await store.mergeTaskMetadata(id, { other: true });
      const expected = { origin: 'test', link: { taskId: 'remote-1', n: 2 }, other: true };
      assert.deepEqual(await store.taskMetadata(id), expected);
      const stored = await store.getTask(ALICE, id);
      assert.deepEqual(stored?.task.metadata, expected, 'callers read it with the task');
      assert.equal(stored?.version, 1, 'metadata is not a task event');
      store = await subject.reopen();
      assert.deepEqual(await store.taskMetadata(id), expected);
      await seed(store, { id: 'kagent-0.meta-none', at: T0 });
      assert.equal(await store.taskMetadata('kagent-0.meta-none'), undefined);
      await store.mergeTaskMetadata('kagent-0.meta-none', { link: 'x' });
      assert.deepEqual(await store.taskMetadata('kagent-0.meta-none'), { link: 'x' });
      await assert.rejects(store.mergeTaskMetadata('kagent-0.nobody', { link: 'x' }), /vanished/);
    });
  });

  describe(`${factory.name} transition`, { skip: factory.skip ?? false }, () => {
    let subject: StoreUnderTest;
    let store: TaskStore;
    before(async () => {
      subject = await factory.create('transition');
      store = subject.store;
    });
    after(async () => {
      await subject.dispose();
    });

    test('applies from an allowed state, bumps the version, records the status and its message', async () => {
      const id = 'kagent-0.tr-ok';
      await seed(store, { id, at: T0 });
      const working = status('working', T0 + 10, agentMessage('st-1', 'working on it'));
      const r1 = await store.transition(id, { status: working, allowedFrom: ACTIVE });
      assert.deepEqual(r1, { applied: true, version: 2, from: 'submitted' });
      const r2 = await store.transition(id, { status: status('working', T0 + 20), allowedFrom: ACTIVE });
      assert.deepEqual(r2, { applied: true, version: 3, from: 'working' });
      const done = status('completed', T0 + 30, agentMessage('st-2', 'finished'));
      const r3 = await store.transition(id, { status: done, allowedFrom: ACTIVE });
      assert.deepEqual(r3, { applied: true, version: 4, from: 'working' });

      const stored = await store.getTask(ALICE, id);
      assert.equal(stored?.version, 4);
      assert.deepEqual(stored?.task.status, done);
      assert.deepEqual(stored?.task.history.map((m) => m.messageId), [`m-${id}`, 'st-1', 'st-2']);
      assert.deepEqual(stored?.task.history[1], working.message);
    });

    test('refuses from a state outside allowedFrom and changes nothing', async () => {
      const id = 'kagent-0.tr-refused';
      await seed(store, { id, at: T0 });
      await store.transition(id, { status: status('completed', T0 + 1), allowedFrom: ACTIVE });
      const earlier = await store.getTask(ALICE, id);
      const result = await store.transition(id, { status: status('working', T0 + 2, agentMessage('st-late', 'too late')), allowedFrom: ACTIVE });
      assert.deepEqual(result, { applied: false, reason: 'state', current: 'completed' });
      assert.deepEqual(await store.getTask(ALICE, id), earlier);
      assert.equal(await store.hasMessage(id, 'st-late'), false);
    });

    test('a user message whose key is already in the history is a duplicate: nothing changes', async () => {
      const id = 'kagent-0.tr-dup';
      await seed(store, { id, at: T0 });
      await store.transition(id, { status: status('input-required', T0 + 1, agentMessage('ask', 'more?')), allowedFrom: ACTIVE });
      const reply = userMessage('u-1', 'more');
      const first = await store.transition(id, {
        status: status('working', T0 + 2),
        allowedFrom: ['input-required'],
        userMessage: { message: reply, key: 'key-u-1' },
      });
      assert.equal(first.applied, true);
      await store.transition(id, { status: status('input-required', T0 + 3, agentMessage('ask-2', 'and more?')), allowedFrom: ACTIVE });
      const earlier = await store.getTask(ALICE, id);

      const again = await store.transition(id, {
        status: status('working', T0 + 4, agentMessage('st-dup', 'resumed')),
        allowedFrom: ['input-required'],
        userMessage: { message: userMessage('u-1-again', 'more, resent'), key: 'key-u-1' },
      });
      assert.deepEqual(again, { applied: false, reason: 'duplicate-message' });
      const afterwards = await store.getTask(ALICE, id);
      assert.deepEqual(afterwards, earlier, 'state, version and history are untouched');
      assert.equal(afterwards?.task.status.state, 'input-required');
      assert.equal(await store.hasMessage(id, 'st-dup'), false);
    });

    test('the user message and the status change are one transaction: a failed write leaves neither', async () => {
      const id = 'kagent-0.tr-atomic';
      await seed(store, { id, at: T0 });
      await store.transition(id, { status: status('input-required', T0 + 1), allowedFrom: ACTIVE });
      const earlier = await store.getTask(ALICE, id);
      // An unparseable timestamp makes the status UPDATE fail after the message INSERT ran.
      await assert.rejects(
        store.transition(id, {
          status: { state: 'working', timestamp: 'not a time' },
          allowedFrom: ['input-required'],
          userMessage: { message: userMessage('u-atomic', 'x'), key: 'key-atomic' },
        }),
      );
      assert.equal(await store.hasMessage(id, 'key-atomic'), false, 'the user message was rolled back');
      assert.deepEqual(await store.getTask(ALICE, id), earlier);
    });

    test('a transition of a task that is not stored fails', async () => {
      await assert.rejects(store.transition('kagent-0.ghost', { status: status('working', T0), allowedFrom: ACTIVE }), /kagent-0\.ghost/);
    });
  });

  describe(`${factory.name} putArtifact`, { skip: factory.skip ?? false }, () => {
    let subject: StoreUnderTest;
    let store: TaskStore;
    before(async () => {
      subject = await factory.create('artifacts');
      store = subject.store;
    });
    after(async () => {
      await subject.dispose();
    });

    const artifactsOf = async (id: string): Promise<Artifact[]> => (await store.getTask(ALICE, id))!.task.artifacts;

    test('replace swaps the stored artifact; append concatenates parts; order is that of first insert', async () => {
      const id = 'kagent-0.art';
      await seed(store, { id, at: T0, state: 'working' });
      assert.deepEqual(await store.putArtifact(id, { artifactId: 'a', name: 'first', parts: [text('a1')] }, false, ACTIVE), {
        applied: true,
        version: 2,
        from: 'working',
      });
      await store.putArtifact(id, { artifactId: 'b', parts: [text('b1')] }, false, ACTIVE);
      const appended = await store.putArtifact(id, { artifactId: 'a', name: 'renamed', parts: [text('a2'), text('a3')] }, true, ACTIVE);
      assert.deepEqual(appended, { applied: true, version: 4, from: 'working' });
      assert.deepEqual(await artifactsOf(id), [
        { artifactId: 'a', name: 'renamed', parts: [text('a1'), text('a2'), text('a3')] },
        { artifactId: 'b', parts: [text('b1')] },
      ]);

      // A replace keeps the artifact's place, and drops the parts it had.
      await store.putArtifact(id, { artifactId: 'a', parts: [text('fresh')] }, false, ACTIVE);
      assert.deepEqual(await artifactsOf(id), [
        { artifactId: 'a', parts: [text('fresh')] },
        { artifactId: 'b', parts: [text('b1')] },
      ]);
      // Appending to an artifact that does not exist yet simply stores it.
      await store.putArtifact(id, { artifactId: 'c', parts: [text('c1')] }, true, ACTIVE);
      assert.deepEqual((await artifactsOf(id)).map((a) => a.artifactId), ['a', 'b', 'c']);

      const stored = await store.getTask(ALICE, id);
      assert.equal(stored?.version, 6);
      assert.equal(stored?.task.status.state, 'working', 'an artifact does not change the status');
    });

    test('refused outside allowedFrom: nothing stored, version unchanged', async () => {
      const id = 'kagent-0.art-late';
      await seed(store, { id, at: T0, state: 'working' });
      await store.transition(id, { status: status('canceled', T0 + 1), allowedFrom: NOT_TERMINAL });
      const result = await store.putArtifact(id, { artifactId: 'late', parts: [text('x')] }, false, ACTIVE);
      assert.deepEqual(result, { applied: false, reason: 'state', current: 'canceled' });
      const stored = await store.getTask(ALICE, id);
      assert.deepEqual(stored?.task.artifacts, []);
      assert.equal(stored?.version, 2);
    });

    test('putArtifact on a task that is not stored fails', async () => {
      await assert.rejects(store.putArtifact('kagent-0.ghost', { artifactId: 'x', parts: [] }, false, ACTIVE), /kagent-0\.ghost/);
    });
  });

  describe(`${factory.name} applyRunChanges`, { skip: factory.skip ?? false }, () => {
    let subject: StoreUnderTest;
    let store: TaskStore;
    before(async () => {
      subject = await factory.create('run-changes');
      store = subject.store;
    });
    after(async () => {
      await subject.dispose();
    });

    test('a run\'s turn lands as that many transitions and artifact writes would: a version, a status and an event each', async () => {
      const id = 'kagent-0.turn';
      await seed(store, { id, at: T0, state: 'submitted' });
      const done = status('completed', T0 + 3, agentMessage(`${id}-done`, 'all done', { taskId: id, contextId: `ctx-${id}` }));
      const result = await store.applyRunChanges(
        id, `ctx-${id}`,
        [
          { kind: 'status', status: status('working', T0 + 1) },
          { kind: 'artifact', artifact: { artifactId: 'a', parts: [text('a1')] }, append: false, lastChunk: false },
          { kind: 'artifact', artifact: { artifactId: 'a', parts: [text('a2')] }, append: true, lastChunk: true },
          { kind: 'status', status: done },
        ],
        0,
      );
      assert.deepEqual(result, { versions: [2, 3, 4, 5], from: 'submitted' });
      const stored = await store.getTask(ALICE, id);
      assert.equal(stored?.version, 5);
      assert.deepEqual(stored?.task.status, done);
      assert.deepEqual(stored?.task.artifacts, [{ artifactId: 'a', parts: [text('a1'), text('a2')] }]);
      assert.ok(stored?.task.history.some((m) => m.messageId === `${id}-done`), 'the status message joins the history');
      const events = await store.eventsAfter(id, 1);
      assert.deepEqual(events.map((e) => [e.version, e.event.kind]), [
        [2, 'status-update'],
        [3, 'artifact-update'],
        [4, 'artifact-update'],
        [5, 'status-update'],
      ]);
      // Terminal, the task is no longer one a run may write: the next turn is refused, whole.
      const late = await store.applyRunChanges(id, `ctx-${id}`, [{ kind: 'artifact', artifact: { artifactId: 'b', parts: [] }, append: false, lastChunk: true }], 0);
      assert.deepEqual(late, { versions: [], from: 'completed', refused: { applied: false, reason: 'state', current: 'completed' } });
      assert.equal((await store.getTask(ALICE, id))?.version, 5);
    });

    test('changes after one that ends the task are refused; those before it stay', async () => {
      const id = 'kagent-0.turn-past-end';
      await seed(store, { id, at: T0, state: 'working' });
      const result = await store.applyRunChanges(
        id, `ctx-${id}`,
        [
          { kind: 'status', status: status('input-required', T0 + 1) },
          { kind: 'status', status: status('working', T0 + 2) },
        ],
        0,
      );
      assert.deepEqual(result, { versions: [2], from: 'working', refused: { applied: false, reason: 'state', current: 'input-required' } });
      const stored = await store.getTask(ALICE, id);
      assert.equal(stored?.task.status.state, 'input-required');
      assert.equal(stored?.version, 2);
    });

    test('a turn that appends to an artifact stored before it adds to the stored parts; one written whole in the turn starts afresh', async () => {
      const id = 'kagent-0.turn-append';
      await seed(store, { id, at: T0, state: 'working' });
      await store.putArtifact(id, { artifactId: 'log', parts: [text('l1')] }, false, ACTIVE);
      await store.putArtifact(id, { artifactId: 'fresh', parts: [text('old')] }, false, ACTIVE);
      const result = await store.applyRunChanges(
        id,
        `ctx-${id}`,
        [
          { kind: 'artifact', artifact: { artifactId: 'log', parts: [text('l2')] }, append: true, lastChunk: false },
          { kind: 'artifact', artifact: { artifactId: 'fresh', parts: [text('f1')] }, append: false, lastChunk: false },
          { kind: 'artifact', artifact: { artifactId: 'log', parts: [text('l3')] }, append: true, lastChunk: true },
          { kind: 'artifact', artifact: { artifactId: 'fresh', parts: [text('f2')] }, append: true, lastChunk: true },
          { kind: 'artifact', artifact: { artifactId: 'new', parts: [text('n1')] }, append: true, lastChunk: true },
        ],
        0,
      );
      assert.deepEqual(result, { versions: [4, 5, 6, 7, 8], from: 'working' });
      // Each artifact keeps the place it was first stored at.
      assert.deepEqual((await store.getTask(ALICE, id))?.task.artifacts, [
        { artifactId: 'log', parts: [text('l1'), text('l2'), text('l3')] },
        { artifactId: 'fresh', parts: [text('f1'), text('f2')] },
        { artifactId: 'new', parts: [text('n1')] },
      ]);
      const events = await store.eventsAfter(id, 3);
      assert.deepEqual(
        events.map((e) => (e.event.kind === 'artifact-update' ? [e.version, e.event.artifact.artifactId, e.event.append, e.event.lastChunk] : [])),
        [
          [4, 'log', true, false],
          [5, 'fresh', false, false],
          [6, 'log', true, true],
          [7, 'fresh', true, true],
          [8, 'new', true, true],
        ],
      );
    });

    test('a superseded run writes nothing', async () => {
      const id = 'kagent-0.turn-stale';
      await seed(store, { id, at: T0, state: 'working' });
      const [seen] = (await store.unfinished('kagent-0')).filter((h) => h.id === id);
      assert.equal((await store.transition(id, { status: status('working', T0 + 1), allowedFrom: ACTIVE, ifVersion: seen!.version, resume: true })).applied, true);
      const stale = await store.applyRunChanges(id, `ctx-${id}`, [{ kind: 'status', status: status('completed', T0 + 2) }], 0);
      assert.deepEqual(stale, { versions: [], from: 'working', refused: { applied: false, reason: 'superseded', current: 'working' } });
      assert.equal((await store.getTask(ALICE, id))?.task.status.state, 'working');
      assert.equal((await store.applyRunChanges(id, `ctx-${id}`, [{ kind: 'status', status: status('completed', T0 + 3) }], 1)).versions.length, 1);
    });
  });

  describe(`${factory.name} list`, { skip: factory.skip ?? false }, () => {
    let subject: StoreUnderTest;
    let store: TaskStore;
    before(async () => {
      subject = await factory.create('list');
      store = subject.store;
      // Two tasks share a status time, so the id decides their order.
      const rows = [
        { id: 'kagent-0.l1', at: T0 + 1000, contextId: 'ctx-a', state: 'completed' as const },
        { id: 'kagent-0.l2', at: T0 + 2000, contextId: 'ctx-b', state: 'working' as const },
        { id: 'kagent-0.l3', at: T0 + 3000, contextId: 'ctx-a', state: 'completed' as const },
        { id: 'kagent-0.l4a', at: T0 + 4000, contextId: 'ctx-a', state: 'failed' as const },
        { id: 'kagent-0.l4b', at: T0 + 4000, contextId: 'ctx-b', state: 'completed' as const },
        { id: 'kagent-0.l5', at: T0 + 5000, contextId: 'ctx-a', state: 'input-required' as const },
        { id: 'kagent-0.l6', at: T0 + 6000, contextId: 'ctx-b', state: 'submitted' as const },
      ];
      for (const row of rows) await seed(store, row);
      await seed(store, { id: 'kagent-0.bob', at: T0 + 9000, caller: BOB });
      await store.putArtifact('kagent-0.l2', { artifactId: 'art', parts: [text('x')] }, false, ACTIVE);
    });
    after(async () => {
      await subject.dispose();
    });

    const ids = (tasks: Task[]) => tasks.map((t) => t.id);
    const ALL_NEWEST_FIRST = ['kagent-0.l6', 'kagent-0.l5', 'kagent-0.l4b', 'kagent-0.l4a', 'kagent-0.l3', 'kagent-0.l2', 'kagent-0.l1'];

    test('newest status first, ties broken by id descending, only the caller\'s tasks', async () => {
      const page = await store.list(ALICE, query());
      assert.deepEqual(ids(page.tasks), ALL_NEWEST_FIRST);
      assert.equal(page.totalSize, 7);
      assert.equal(page.pageSize, 50);
      assert.equal(page.nextPageToken, '');
    });

    test('filters by contextId, state and statusTimestampAfter (inclusive), alone and together; totalSize counts the filter', async () => {
      const a = await store.list(ALICE, query({ contextId: 'ctx-a' }));
      assert.deepEqual(ids(a.tasks), ['kagent-0.l5', 'kagent-0.l4a', 'kagent-0.l3', 'kagent-0.l1']);
      assert.equal(a.totalSize, 4);

      const completed = await store.list(ALICE, query({ state: 'completed' }));
      assert.deepEqual(ids(completed.tasks), ['kagent-0.l4b', 'kagent-0.l3', 'kagent-0.l1']);
      assert.equal(completed.totalSize, 3);

      const recent = await store.list(ALICE, query({ statusTimestampAfter: T0 + 4000 }));
      assert.deepEqual(ids(recent.tasks), ['kagent-0.l6', 'kagent-0.l5', 'kagent-0.l4b', 'kagent-0.l4a']);

      const both = await store.list(ALICE, query({ contextId: 'ctx-a', state: 'completed', statusTimestampAfter: T0 + 2000 }));
      assert.deepEqual(ids(both.tasks), ['kagent-0.l3']);
      assert.equal(both.totalSize, 1);

      const none = await store.list(ALICE, query({ contextId: 'ctx-none' }));
      assert.deepEqual(none, { tasks: [], nextPageToken: '', pageSize: 50, totalSize: 0 });
    });

    test('page tokens walk every task exactly once; the last page has an empty token', async () => {
      const seen: string[] = [];
      const sizes: number[] = [];
      let token: string | undefined;
      for (let pages = 0; pages < 10; pages++) {
        const page = await store.list(ALICE, query({ pageSize: 2, ...(token === undefined ? {} : { pageToken: token }) }));
        assert.equal(page.totalSize, 7, 'totalSize is the whole filtered set on every page');
        assert.equal(page.pageSize, 2);
        seen.push(...ids(page.tasks));
        sizes.push(page.tasks.length);
        if (page.nextPageToken === '') break;
        token = page.nextPageToken;
      }
      assert.deepEqual(sizes, [2, 2, 2, 1]);
      assert.deepEqual(seen, ALL_NEWEST_FIRST);
    });

    test('a page size equal to the number of tasks gives one page and no token', async () => {
      const page = await store.list(ALICE, query({ pageSize: 7 }));
      assert.equal(page.tasks.length, 7);
      assert.equal(page.nextPageToken, '');
    });

    test('a page token the store did not issue is an invalid parameter naming pageToken', async () => {
      for (const bad of ['not-a-token', Buffer.from('[1,2]').toString('base64url'), Buffer.from('{"a":1}').toString('base64url')]) {
        await assert.rejects(store.list(ALICE, query({ pageToken: bad })), (error: any) => {
          assert.equal(error.name, 'InvalidParamsError');
          assert.equal(error.field, 'params.pageToken');
          return true;
        });
      }
    });

    test('artifacts only with includeArtifacts; historyLength applies to listed tasks', async () => {
      const without = await store.list(ALICE, query({ contextId: 'ctx-b', state: 'working' }));
      assert.deepEqual(without.tasks[0]?.artifacts, []);
      const withArtifacts = await store.list(ALICE, query({ contextId: 'ctx-b', state: 'working', includeArtifacts: true }));
      assert.deepEqual(withArtifacts.tasks[0]?.artifacts, [{ artifactId: 'art', parts: [text('x')] }]);

      assert.equal(without.tasks[0]?.history.length, 1);
      const noHistory = await store.list(ALICE, query({ contextId: 'ctx-b', state: 'working', historyLength: 0 }));
      assert.deepEqual(noHistory.tasks[0]?.history, []);
    });
  });

  describe(`${factory.name} list within a byte budget`, { skip: factory.skip ?? false }, () => {
    let subject: StoreUnderTest;
    let store: TaskStore;
    const ARTIFACT_TEXT = 10_000;
    before(async () => {
      subject = await factory.create('budget');
      store = subject.store;
      for (let i = 1; i <= 6; i++) {
        await seed(store, { id: `kagent-0.b${i}`, at: T0 + i * 1000, state: 'working' });
        await store.putArtifact(`kagent-0.b${i}`, { artifactId: 'big', parts: [text('x'.repeat(ARTIFACT_TEXT))] }, false, ACTIVE);
      }
    });
    after(async () => {
      await subject.dispose();
    });

    const ids = (tasks: Task[]) => tasks.map((t) => t.id);
    const bytes = (tasks: Task[]) => tasks.reduce((sum, task) => sum + Buffer.byteLength(JSON.stringify(task)), 0);

    test('a page stops before the task that would pass the budget, and its token goes on from there: every task once, in order', async () => {
      const all = ids((await store.list(ALICE, query({ includeArtifacts: true }))).tasks);
      assert.equal(all.length, 6);
      const seen: string[] = [];
      const sizes: number[] = [];
      let token = '';
      for (let pages = 0; pages < 10; pages++) {
        const page = await store.list(ALICE, query({ pageSize: 10, includeArtifacts: true, pageToken: token }), { maxBytes: 2.5 * ARTIFACT_TEXT });
        assert.ok(bytes(page.tasks) <= 2.5 * ARTIFACT_TEXT, `a page of ${bytes(page.tasks)} bytes`);
        assert.equal(page.totalSize, 6);
        seen.push(...ids(page.tasks));
        sizes.push(page.tasks.length);
        if (page.nextPageToken === '') break;
        token = page.nextPageToken;
      }
      assert.deepEqual(sizes, [2, 2, 2]);
      assert.deepEqual(seen, all);
    });

    test('a task larger than the whole budget still makes a page of its own', async () => {
      const page = await store.list(ALICE, query({ pageSize: 10, includeArtifacts: true }), { maxBytes: 1000 });
      assert.equal(page.tasks.length, 1);
      assert.equal(page.tasks[0]!.artifacts[0]!.parts.length, 1, 'the task comes whole');
      assert.notEqual(page.nextPageToken, '');
    });

    test('without includeArtifacts the artifacts cost nothing: the same budget holds every task', async () => {
      const page = await store.list(ALICE, query({ pageSize: 10 }), { maxBytes: 2.5 * ARTIFACT_TEXT });
      assert.equal(page.tasks.length, 6);
      assert.equal(page.nextPageToken, '');
    });

    test('a budget that holds exactly the last page leaves an empty token', async () => {
      const page = await store.list(ALICE, query({ pageSize: 10, includeArtifacts: true }), { maxBytes: 100 * ARTIFACT_TEXT });
      assert.equal(page.tasks.length, 6);
      assert.equal(page.nextPageToken, '');
    });
  });

  describe(`${factory.name} list paging while tasks change`, { skip: factory.skip ?? false }, () => {
    let subject: StoreUnderTest;
    let store: TaskStore;
    before(async () => {
      subject = await factory.create('paging');
      store = subject.store;
      for (let i = 1; i <= 9; i++) await seed(store, { id: `kagent-0.p${i}`, at: T0 + i * 1000, state: 'working' });
    });
    after(async () => {
      await subject.dispose();
    });

    // Observed semantics: the token is a (status time, id) position in a
    // newest-first order, not a snapshot. A task whose status changes moves to
    // the front, which is behind the cursor: it is never listed twice, and tasks
    // that do not change are listed exactly once, but a task that changes
    // before the walk reaches it is not listed at all during that walk.
    test('no task is listed twice and unchanged tasks are listed exactly once when tasks change between pages', async () => {
      const counts = new Map<string, number>();
      let token = '';
      let pages = 0;
      let now = T0 + 100_000;
      const touched = new Set<string>();
      do {
        const page = await store.list(ALICE, query({ pageSize: 2, pageToken: token }));
        for (const task of page.tasks) counts.set(task.id, (counts.get(task.id) ?? 0) + 1);
        pages++;
        if (pages === 1) {
          // One task already listed and one not yet reached change status.
          for (const id of ['kagent-0.p9', 'kagent-0.p3']) {
            const r = await store.transition(id, { status: status('completed', (now += 1000)), allowedFrom: ACTIVE });
            assert.equal(r.applied, true);
            touched.add(id);
          }
          // A task created mid-walk is newer than the cursor too.
          await seed(store, { id: 'kagent-0.p-new', at: (now += 1000) });
          touched.add('kagent-0.p-new');
        }
        token = page.nextPageToken;
      } while (token !== '' && pages < 20);

      for (const [id, n] of counts) assert.equal(n, 1, `${id} listed ${n} times`);
      for (let i = 1; i <= 9; i++) {
        const id = `kagent-0.p${i}`;
        if (!touched.has(id)) assert.equal(counts.get(id), 1, `${id} did not change and must be listed once`);
      }
      assert.equal(counts.get('kagent-0.p9'), 1, 'listed on the first page, not again after it moved to the front');
      assert.equal(counts.get('kagent-0.p3'), undefined, 'moved ahead of the cursor before the walk reached it');

      const fresh = await store.list(ALICE, query({ pageSize: 3 }));
      assert.deepEqual(
        fresh.tasks.map((t) => t.id),
        ['kagent-0.p-new', 'kagent-0.p3', 'kagent-0.p9'],
        'a new walk sees the changed tasks first',
      );
      assert.equal(fresh.totalSize, 10);
    });
  });

  describe(`${factory.name} resumes`, { skip: factory.skip ?? false }, () => {
    let subject: StoreUnderTest;
    let store: TaskStore;
    before(async () => {
      subject = await factory.create('resumes');
      store = subject.store;
    });
    after(async () => {
      await subject.dispose();
    });

    test('a resume applies only to the version it saw, counts itself, and fences off the writes of the run it replaces', async () => {
      const id = 'kagent-0.u-resume';
      await seed(store, { id, at: T0, state: 'working', caller: BOB });
      const [seen] = (await store.unfinished('kagent-0')).filter((h) => h.id === id);
      assert.deepEqual([seen?.resumes, seen?.caller], [0, BOB]);
      assert.equal((await store.getTask(BOB, id))?.resumes, 0);

      // The interrupted run (generation 0) still writes before anyone resumes: the resume's version is then stale.
      const progress = await store.transition(id, { status: status('working', T0 + 1), allowedFrom: ACTIVE, run: 0 });
      assert.equal(progress.applied, true);
      const stale = await store.transition(id, { status: status('working', T0 + 2), allowedFrom: ACTIVE, ifVersion: seen!.version, resume: true });
      assert.deepEqual(stale, { applied: false, reason: 'superseded', current: 'working' });
      assert.equal((await store.getTask(BOB, id))?.resumes, 0, 'a refused resume counts nothing');

      const [now] = (await store.unfinished('kagent-0')).filter((h) => h.id === id);
      const resumed = await store.transition(id, { status: status('working', T0 + 3), allowedFrom: ACTIVE, ifVersion: now!.version, resume: true });
      assert.equal(resumed.applied, true);
      assert.equal((await store.getTask(BOB, id))?.resumes, 1);
      assert.equal((await store.unfinished('kagent-0')).find((h) => h.id === id)?.resumes, 1);

      // Generation 0 is superseded: neither its status changes nor its artifacts land; generation 1 writes.
      const late = await store.transition(id, { status: status('completed', T0 + 4), allowedFrom: ACTIVE, run: 0 });
      assert.deepEqual(late, { applied: false, reason: 'superseded', current: 'working' });
      const lateArtifact = await store.putArtifact(id, { artifactId: 'a', parts: [text('old run')] }, false, ACTIVE, true, 0);
      assert.deepEqual(lateArtifact, { applied: false, reason: 'superseded', current: 'working' });
      assert.deepEqual((await store.getTask(BOB, id))?.task.artifacts, []);
      assert.equal((await store.putArtifact(id, { artifactId: 'a', parts: [text('new run')] }, false, ACTIVE, true, 1)).applied, true);
      assert.equal((await store.transition(id, { status: status('completed', T0 + 5), allowedFrom: ACTIVE, run: 1 })).applied, true);
      // Writes without a run (a cancel, a takeover) are not fenced; a version condition still is.
      const ended = await store.getTask(BOB, id);
      assert.equal(ended?.task.status.state, 'completed');
      assert.equal(ended?.task.artifacts[0]?.parts[0]?.kind === 'text' && ended.task.artifacts[0].parts[0].text, 'new run');
      assert.deepEqual(
        await store.transition(id, { status: status('failed', T0 + 6), allowedFrom: ['completed'], ifVersion: ended!.version - 1 }),
        { applied: false, reason: 'superseded', current: 'completed' },
      );
    });
  });

  describe(`${factory.name} unfinished, retention deletes and counts`, { skip: factory.skip ?? false }, () => {
    let subject: StoreUnderTest;
    let store: TaskStore;
    before(async () => {
      subject = await factory.create('sweep');
      store = subject.store;
    });
    after(async () => {
      await subject.dispose();
    });

    test('unfinished lists the submitted and working tasks of one pod', async () => {
      await seed(store, { id: 'kagent-0.u-sub', at: T0, state: 'submitted', skill: 'echo' });
      await seed(store, { id: 'kagent-0.u-work', at: T0, state: 'working', skill: 'conformance', contextId: 'ctx-u' });
      await seed(store, { id: 'kagent-0.u-input', at: T0, state: 'input-required' });
      await seed(store, { id: 'kagent-0.u-auth', at: T0, state: 'auth-required' });
      await seed(store, { id: 'kagent-0.u-done', at: T0, state: 'completed' });
      await seed(store, { id: 'kagent-1.u-other', at: T0, state: 'working', pod: 'kagent-1' });
      const heads = (await store.unfinished('kagent-0')).sort((a, b) => a.id.localeCompare(b.id));
      const common = { pod: 'kagent-0', caller: ALICE, holder: 'kagent-0', resumes: 0 };
      assert.deepEqual(heads, [
        { id: 'kagent-0.u-sub', contextId: 'ctx-kagent-0.u-sub', state: 'submitted', version: 1, skill: 'echo', ...common },
        { id: 'kagent-0.u-work', contextId: 'ctx-u', state: 'working', version: 1, skill: 'conformance', ...common },
      ]);
      assert.deepEqual((await store.unfinished('kagent-1')).map((h) => h.id), ['kagent-1.u-other']);
      assert.deepEqual(await store.unfinished('kagent-9'), []);
    });

    test('countByState names every state, zero included', async () => {
      const counts = await store.countByState();
      assert.deepEqual(Object.keys(counts).sort(), [...TASK_STATES].sort());
      assert.deepEqual(counts, {
        submitted: 1,
        working: 2,
        'input-required': 1,
        'auth-required': 1,
        completed: 1,
        failed: 0,
        canceled: 0,
        rejected: 0,
      });
    });

    test('deleteTerminalBefore removes only terminal tasks older than the cutoff, with their messages, artifacts and push rows', async () => {
      const cutoff = T0 + 50_000;
      const old = cutoff - 10_000;
      const expired = [
        { id: 'kagent-0.x-c1', state: 'completed' as const },
        { id: 'kagent-0.x-c2', state: 'completed' as const },
        { id: 'kagent-0.x-f', state: 'failed' as const },
        { id: 'kagent-0.x-x', state: 'canceled' as const },
        { id: 'kagent-0.x-r', state: 'rejected' as const },
      ];
      for (const e of expired) await seed(store, { id: e.id, at: old - 1, state: 'working' });
      // Give one expired task the rows that must go with it.
      await store.putArtifact('kagent-0.x-c1', { artifactId: 'out', parts: [text('bye')] }, false, ACTIVE);
      for (const e of expired) {
        await store.transition(e.id, { status: status(e.state, old, agentMessage(`st-${e.id}`, 'end')), allowedFrom: ACTIVE });
      }
      await subject.addPushRows('kagent-0.x-c1', 'cfg');

      await seed(store, { id: 'kagent-0.k-at-cutoff', at: cutoff, state: 'completed' });
      await seed(store, { id: 'kagent-0.k-recent', at: cutoff + 1, state: 'failed' });
      await seed(store, { id: 'kagent-0.k-old-working', at: old, state: 'working' });
      await seed(store, { id: 'kagent-0.k-old-input', at: old, state: 'input-required' });
      await seed(store, { id: 'kagent-0.k-old-auth', at: old, state: 'auth-required' });
      const bystanders = ['kagent-0.k-at-cutoff', 'kagent-0.k-recent', 'kagent-0.k-old-working', 'kagent-0.k-old-input', 'kagent-0.k-old-auth'];

      const deleted = await store.deleteTerminalBefore(cutoff, 100);
      // The tasks seeded by the earlier tests of this group all have status time T0, before the cutoff.
      assert.deepEqual(deleted, { completed: 3, failed: 1, canceled: 1, rejected: 1 });
      for (const e of expired) {
        assert.equal(await store.getTask(ALICE, e.id), undefined, `${e.id} deleted`);
        assert.equal(await store.hasMessage(e.id, `rk-${e.id}`), false);
      }
      for (const id of bystanders) assert.ok(await store.getTask(ALICE, id), `${id} kept`);
      assert.ok(await store.getTask(ALICE, 'kagent-0.u-work'), 'a working task from before is kept');

      const ids = expired.map((e) => e.id);
      for (const table of ['messages', 'artifacts', 'push_configs', 'push_outbox', 'task_events'] as const) {
        assert.equal(await subject.countRows(table, ids), 0, `${table} rows of deleted tasks`);
      }
      assert.equal(await subject.countRows('messages', ['kagent-0.k-recent']), 1, 'kept tasks keep their messages');

      assert.deepEqual(await store.deleteTerminalBefore(cutoff, 100), {}, 'a second pass finds nothing');
    });

    test('deleteTerminalBefore respects the limit and deletes the oldest first', async () => {
      const base = T0 - 1_000_000;
      for (let i = 0; i < 5; i++) await seed(store, { id: `kagent-0.lim-${i}`, at: base + i, state: 'completed' });
      const cutoff = base + 100;
      assert.deepEqual(await store.deleteTerminalBefore(cutoff, 2), { completed: 2 });
      const remaining = async () => {
        const out: string[] = [];
        for (let i = 0; i < 5; i++) if (await store.getTask(ALICE, `kagent-0.lim-${i}`)) out.push(`kagent-0.lim-${i}`);
        return out;
      };
      assert.deepEqual(await remaining(), ['kagent-0.lim-2', 'kagent-0.lim-3', 'kagent-0.lim-4']);
      assert.deepEqual(await store.deleteTerminalBefore(cutoff, 2), { completed: 2 });
      assert.deepEqual(await store.deleteTerminalBefore(cutoff, 2), { completed: 1 });
      assert.deepEqual(await store.deleteTerminalBefore(cutoff, 2), {});
      assert.deepEqual(await remaining(), []);
    });
  });

  describe(`${factory.name} event log`, { skip: factory.skip ?? false }, () => {
    let subject: StoreUnderTest;
    let store: TaskStore;
    before(async () => {
      subject = await factory.create('events');
      store = subject.store;
    });
    after(async () => {
      await subject.dispose();
    });

    test('each applied transition and artifact stores its event under the version it produced, in order', async () => {
      const id = 'kagent-0.ev';
      await seed(store, { id, at: T0, contextId: 'ctx-ev' });
      const working = status('working', T0 + 1, agentMessage('st-ev-1', 'on it'));
      const first: Artifact = { artifactId: 'out', name: 'result', parts: [text('a')] };
      const more: Artifact = { artifactId: 'out', parts: [text('b'), text('c')] };
      const asking = status('input-required', T0 + 2, agentMessage('st-ev-2', 'which one?'));
      const resumed = status('working', T0 + 3);
      const done = status('completed', T0 + 4);

      const results = [
        await store.transition(id, { status: working, allowedFrom: ACTIVE }),
        await store.putArtifact(id, first, false, ACTIVE),
        await store.putArtifact(id, more, true, ACTIVE),
        await store.transition(id, { status: asking, allowedFrom: ACTIVE }),
        await store.transition(id, { status: resumed, allowedFrom: ['input-required'], userMessage: { message: userMessage('u-ev', 'that one'), key: 'k-ev' } }),
        await store.transition(id, { status: done, allowedFrom: ACTIVE }),
      ];
      assert.deepEqual(
        results.map((r) => (r.applied ? r.version : r)),
        [2, 3, 4, 5, 6, 7],
      );
      const base = { taskId: id, contextId: 'ctx-ev' };
      const expected: VersionedEvent[] = [
        { version: 2, event: { kind: 'status-update', ...base, status: working, final: false } },
        { version: 3, event: { kind: 'artifact-update', ...base, artifact: first, append: false, lastChunk: false } },
        // The event carries the chunk that was sent, not the merged artifact the task now holds.
        { version: 4, event: { kind: 'artifact-update', ...base, artifact: more, append: true, lastChunk: false } },
        { version: 5, event: { kind: 'status-update', ...base, status: asking, final: true } },
        { version: 6, event: { kind: 'status-update', ...base, status: resumed, final: false } },
        { version: 7, event: { kind: 'status-update', ...base, status: done, final: true } },
      ];
      assert.deepEqual(await store.eventsAfter(id, 0), expected);
      assert.deepEqual(await store.eventsAfter(id, 4), expected.slice(3));
      assert.deepEqual(await store.eventsAfter(id, 7), []);
      assert.deepEqual(await store.eventsAfter('kagent-0.unknown', 0), []);
      assert.deepEqual((await store.getTask(ALICE, id))?.task.artifacts, [{ artifactId: 'out', name: 'result', parts: [text('a'), text('b'), text('c')] }]);
    });

    test('a refused, duplicate or failed write stores no event', async () => {
      const id = 'kagent-0.ev-none';
      await seed(store, { id, at: T0, state: 'working' });
      await store.transition(id, { status: status('input-required', T0 + 1), allowedFrom: ACTIVE });
      await store.transition(id, {
        status: status('working', T0 + 2),
        allowedFrom: ['input-required'],
        userMessage: { message: userMessage('u-1', 'x'), key: 'k-1' },
      });
      await store.transition(id, { status: status('input-required', T0 + 3), allowedFrom: ACTIVE });
      const before = await store.eventsAfter(id, 0);
      assert.equal(before.length, 3);

      const duplicate = await store.transition(id, {
        status: status('working', T0 + 4),
        allowedFrom: ['input-required'],
        userMessage: { message: userMessage('u-1-again', 'x'), key: 'k-1' },
      });
      assert.deepEqual(duplicate, { applied: false, reason: 'duplicate-message' });
      assert.deepEqual(await store.putArtifact(id, { artifactId: 'a', parts: [text('x')] }, false, ACTIVE), {
        applied: false,
        reason: 'state',
        current: 'input-required',
      });
      await assert.rejects(store.transition(id, { status: { state: 'working', timestamp: 'not a time' }, allowedFrom: ['input-required'] }));
      assert.deepEqual(await store.eventsAfter(id, 0), before);
      assert.equal((await store.getHead(ALICE, id))?.version, 4);
    });

    test('retention deletes a task\'s events with it and keeps those of the tasks it keeps', async () => {
      const gone = 'kagent-0.ev-gone';
      const kept = 'kagent-0.ev-kept';
      await seed(store, { id: gone, at: T0 - 100_000, state: 'working' });
      await seed(store, { id: kept, at: T0 - 100_000, state: 'working' });
      await store.putArtifact(gone, { artifactId: 'a', parts: [text('x')] }, false, ACTIVE);
      await store.transition(gone, { status: status('completed', T0 - 90_000), allowedFrom: ACTIVE });
      await store.transition(kept, { status: status('working', T0 - 90_000), allowedFrom: ACTIVE });
      assert.equal(await subject.countRows('task_events', [gone]), 2);

      const deleted = await store.deleteTerminalBefore(T0 - 50_000, 100);
      assert.deepEqual(deleted, { completed: 1 });
      assert.equal(await subject.countRows('task_events', [gone]), 0);
      assert.deepEqual(await store.eventsAfter(gone, 0), []);
      assert.equal((await store.eventsAfter(kept, 0)).length, 1);
    });

    test('a limit reads only the first events after the version', async () => {
      const id = 'kagent-0.ev-limit';
      await seed(store, { id, at: T0, state: 'working' });
      for (let i = 1; i <= 5; i++) await store.transition(id, { status: status('working', T0 + i), allowedFrom: ACTIVE });
      assert.deepEqual((await store.eventsAfter(id, 2, 2)).map((e) => e.version), [3, 4]);
      assert.deepEqual((await store.eventsAfter(id, 0, 100)).map((e) => e.version), [2, 3, 4, 5, 6]);
    });
  });

  describe(`${factory.name} event log bound`, { skip: factory.skip ?? false }, () => {
    let subject: StoreUnderTest;
    before(async () => {
      subject = await factory.create('events-bound', { eventsKept: 10 });
    });
    after(async () => {
      await subject.dispose();
    });

    test('a task keeps its newest events: older ones go a few at a time, and the rest stay in order', async () => {
      const store = subject.store;
      const id = 'kagent-0.ev-bound';
      await seed(store, { id, at: T0, state: 'working' });
      // Versions 2..31: pruning runs at each multiple of 1 in 10 of the bound (every version here) past the bound.
      for (let i = 1; i <= 30; i++) await store.putArtifact(id, { artifactId: `a-${i}`, parts: [text(String(i))] }, false, ACTIVE);
      const versions = (await store.eventsAfter(id, 0)).map((e) => e.version);
      assert.deepEqual(versions, Array.from({ length: 10 }, (_, i) => 22 + i));
      assert.equal(await subject.countRows('task_events', [id]), 10);
      // Only events go: the task keeps every artifact.
      assert.equal((await store.getTask(ALICE, id))?.task.artifacts.length, 30);
    });

    test('a turn of more changes than the bound keeps the newest events, as that many single writes would', async () => {
      const store = subject.store;
      const id = 'kagent-0.ev-bound-turn';
      await seed(store, { id, at: T0, state: 'working' });
      const turn = (from: number, count: number): RunChange[] =>
        Array.from({ length: count }, (_, i) => ({ kind: 'artifact', artifact: { artifactId: `a-${from + i}`, parts: [text(String(from + i))] }, append: false, lastChunk: false }));
      // Versions 2..6, then 7..31 in one turn: its last version, 31, prunes through 21.
      assert.deepEqual((await store.applyRunChanges(id, `ctx-${id}`, turn(1, 5), 0)).versions, [2, 3, 4, 5, 6]);
      assert.equal((await store.applyRunChanges(id, `ctx-${id}`, turn(6, 25), 0)).versions.length, 25);
      assert.deepEqual((await store.eventsAfter(id, 0)).map((e) => e.version), Array.from({ length: 10 }, (_, i) => 22 + i));
      assert.equal(await subject.countRows('task_events', [id]), 10);
      assert.equal((await store.getTask(ALICE, id))?.task.artifacts.length, 30);
    });
  });

  describe(`${factory.name} durability`, { skip: factory.skip ?? false }, () => {
    const subjects: StoreUnderTest[] = [];
    after(async () => {
      for (const subject of subjects) await subject.dispose();
    });

    test('everything written is there after close and re-open', async () => {
      const subject = await factory.create('durable', { durable: true });
      subjects.push(subject);
      const store = subject.store;
      const ids = ['kagent-0.d1', 'kagent-0.d2', 'kagent-0.d3'];
      for (const [i, id] of ids.entries()) await seed(store, { id, at: T0 + i, metadata: { i } });
      await store.transition('kagent-0.d1', { status: status('working', T0 + 10), allowedFrom: ACTIVE });
      await store.putArtifact('kagent-0.d1', { artifactId: 'a', parts: [text('1')] }, false, ACTIVE);
      await store.putArtifact('kagent-0.d1', { artifactId: 'a', parts: [text('2')] }, true, ACTIVE);
      await store.transition('kagent-0.d1', { status: status('completed', T0 + 11, agentMessage('bye', 'done')), allowedFrom: ACTIVE });
      await store.transition('kagent-0.d2', { status: status('input-required', T0 + 12), allowedFrom: ACTIVE });

      const snapshot = await Promise.all(ids.map((id) => store.getTask(ALICE, id)));
      const listing = await store.list(ALICE, query({ includeArtifacts: true }));
      const counts = await store.countByState();
      await store.close();
      await store.close(); // closing twice is harmless
      assert.equal(store.isOpen, false);
      assert.equal(await subject.countRows('tasks'), 3, 'the closed store\'s data alone holds the tasks');

      const reopened = await subject.reopen();
      try {
        assert.deepEqual(await Promise.all(ids.map((id) => reopened.getTask(ALICE, id))), snapshot);
        assert.deepEqual(await reopened.list(ALICE, query({ includeArtifacts: true })), listing);
        assert.deepEqual(await reopened.countByState(), counts);
        assert.equal(await reopened.findTaskByRequestKey(ALICE, 'rk-kagent-0.d3'), 'kagent-0.d3');
        assert.equal(await reopened.hasMessage('kagent-0.d1', 'bye'), true);
        // The version keeps counting from where it was.
        const r = await reopened.transition('kagent-0.d2', { status: status('working', T0 + 20), allowedFrom: ['input-required'] });
        assert.deepEqual(r, { applied: true, version: 3, from: 'input-required' });
      } finally {
        await reopened.close();
      }
    });

    test('writes are refused once the store is closed', async () => {
      const subject = await factory.create('closed');
      subjects.push(subject);
      const store = subject.store;
      await store.close();
      await assert.rejects(store.createTask(buildTask({ id: 'kagent-0.late', at: T0 }), { caller: ALICE, pod: 'kagent-0', skill: 'echo', requestKey: 'rk' }), /not open/);
      await assert.rejects(store.transition('kagent-0.late', { status: status('working', T0), allowedFrom: ACTIVE }), /not open/);
      await assert.rejects(store.list(ALICE, query()), /not open/);
      await assert.rejects(store.deleteTerminalBefore(T0, 10), /not open/);
    });
  });
}
