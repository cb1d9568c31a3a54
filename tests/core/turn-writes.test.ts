import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { EventBus } from '../../src/core/event-bus.js';
import type { VersionedEvent } from '../../src/core/event-bus.js';
import { SkillRegistry } from '../../src/core/skill-registry.js';
import { TaskService } from '../../src/core/task-service.js';
import { ANONYMOUS } from '../../src/model/model.js';
import type { Skill } from '../../src/skills/skill.js';
import { echoSkill } from '../../src/skills/echo.js';
import { SqliteTaskStore } from '../../src/store/sqlite/sqlite-store.js';
import { timedStore } from '../../src/store/timed-store.js';
import type { TimedOperation } from '../../src/store/timed-store.js';
import { tempDir, userMessage } from '../store/fixtures.js';
import type { TempDir } from '../store/fixtures.js';
import { waitFor } from '../support/wait.js';

/** A bus that notes, at each publish, the version the store holds for the task: what a reader would get at that moment. */
class DurabilityCheckingBus extends EventBus {
  readonly seen: { event: VersionedEvent; stored: number }[] = [];
  constructor(private readonly store: SqliteTaskStore) {
    super();
  }
  override publish(taskId: string, event: VersionedEvent): void {
    // SQLite reads run at the call, before anything else: this is the store as it is now.
    void this.store.getTask(ANONYMOUS, taskId).then((stored) => this.seen.push({ event, stored: stored?.version ?? 0 }));
    super.publish(taskId, event);
  }
}

describe('a skill run writes each turn once', () => {
  let tmp: TempDir;
  let raw: SqliteTaskStore;
  const operations: TimedOperation[] = [];
  let bus: DurabilityCheckingBus;
  let service: TaskService;

  before(async () => {
    tmp = tempDir('kagent-turn-writes-');
    raw = new SqliteTaskStore({ path: join(tmp.dir, 'turns.sqlite'), synchronous: 'full' });
    await raw.open();
    bus = new DurabilityCheckingBus(raw);
    const twoTurns: Skill = {
      descriptor: { id: 'two-turns', name: 'two turns', description: 'asks, then answers on the next turn', tags: [] },
      async execute(ctx) {
        await ctx.working('thinking');
        // Waiting for the store ends the turn: what came before is written, then what comes after.
        // (Any other wait may or may not outlast the batch's flush, so the count of writes would hang on timing.)
        await ctx.durable();
        await ctx.artifact({ artifactId: 'answer', parts: [{ kind: 'text', text: '42' }] });
        await ctx.complete();
      },
    };
    service = new TaskService({
      store: timedStore(raw, (operation) => operations.push(operation)),
      bus,
      skills: new SkillRegistry([echoSkill({ maxDelayMs: 0 }), twoTurns], 'echo'),
      pod: 'kagent-0',
      streamCapacity: 16,
    });
  });

  after(async () => {
    await raw.close();
    tmp.cleanup();
  });

  test('a synchronous skill: submitted, then working, artifact and completed in one write, published only once stored', async () => {
    operations.length = 0;
    bus.seen.length = 0;
    const sent = await service.sendMessage(ANONYMOUS, userMessage('m-sync', 'hello'));
    const task = sent.kind === 'task' ? sent.task : assert.fail('expected a task');
    assert.equal(task.status.state, 'completed');
    assert.deepEqual(task.artifacts.map((a) => a.artifactId), ['echo']);
    const writes = operations.filter((o) => o === 'createTask' || o === 'transition' || o === 'putArtifact' || o === 'applyRunChanges');
    assert.deepEqual(writes, ['createTask', 'applyRunChanges']);
    await waitForSeen(bus, 3);
    assert.deepEqual(bus.seen.map((s) => [s.event.version, s.event.event.kind]), [
      [2, 'status-update'],
      [3, 'artifact-update'],
      [4, 'status-update'],
    ]);
    // Every event was published after the write that holds it: the store already had it (and the whole turn).
    for (const { event, stored } of bus.seen) assert.ok(stored >= event.version, `version ${event.version} published while the store held ${stored}`);
  });

  test('a skill that waits for its progress to be stored writes once per turn, in order', async () => {
    operations.length = 0;
    bus.seen.length = 0;
    const sent = await service.sendMessage(ANONYMOUS, userMessage('m-turns', 'question', { metadata: { skill: 'two-turns' } }));
    const task = sent.kind === 'task' ? sent.task : assert.fail('expected a task');
    assert.equal(task.status.state, 'completed');
    assert.deepEqual(operations.filter((o) => o === 'applyRunChanges').length, 2);
    await waitForSeen(bus, 3);
    assert.deepEqual(bus.seen.map((s) => s.event.version), [2, 3, 4]);
    for (const { event, stored } of bus.seen) assert.ok(stored >= event.version);
  });
});

async function waitForSeen(bus: DurabilityCheckingBus, count: number): Promise<void> {
  await waitFor(`${count} published events`, () => bus.seen.length >= count);
  assert.equal(bus.seen.length, count);
}
