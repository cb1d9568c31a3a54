import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Message, Part } from '../model/model.js';
import type { Skill, SkillContext } from './skill.js';

// The agent the public A2A conformance suite (a2a-tck) drives: each test picks
// a behaviour through the prefix of its messageId (see the suite's
// scenarios/*.feature). Off unless CONFORMANCE_AGENT is set.

type Step = (ctx: SkillContext) => Promise<void>;

const text = (value: string): Part => ({ kind: 'text', text: value });
const fileBytes: Part = { kind: 'bytes', bytes: Buffer.from('tck').toString('base64'), mediaType: 'text/plain', filename: 'output.txt' };
const fileUrl: Part = { kind: 'url', url: 'https://example.com/output.txt', mediaType: 'text/plain', filename: 'output.txt' };
const data: Part = { kind: 'data', data: { key: 'value', count: 42 } };

const artifact = (parts: Part[]): Step => (ctx) => ctx.artifact({ artifactId: randomUUID(), parts });
const working: Step = (ctx) => ctx.working();
const complete: Step = (ctx) => ctx.complete();

/** The suite waits two "streaming timeouts" (2 s each) for a task it resubscribes to. */
const RESUBSCRIBE_WINDOW_MS = 4000;

// Longest prefixes first: "tck-artifact-file-url" must not match "tck-artifact-file".
const SCENARIOS: readonly (readonly [string, readonly Step[]])[] = [
  ['tck-stream-artifact-chunked', [working, async (ctx) => {
    const artifactId = randomUUID();
    await ctx.artifact({ artifactId, parts: [text('chunk-1 ')] }, { append: false, lastChunk: false });
    await ctx.artifact({ artifactId, parts: [text('chunk-2')] }, { append: true, lastChunk: true });
  }, complete]],
  ['tck-stream-artifact-text', [working, artifact([text('Streamed text content')]), complete]],
  ['tck-stream-artifact-file', [working, artifact([fileBytes]), complete]],
  ['tck-stream-ordering-001', [working, artifact([text('Ordered output')]), complete]],
  ['tck-stream-001', [working, artifact([text('Stream hello from TCK')]), complete]],
  ['tck-stream-002', [complete]],
  ['tck-stream-003', [working, artifact([text('Stream task lifecycle')]), complete]],
  ['test-resubscribe-message-id', [working, (ctx) => sleep(RESUBSCRIBE_WINDOW_MS, undefined, { signal: ctx.signal }), complete]],
  ['tck-artifact-file-url', [artifact([fileUrl]), complete]],
  ['tck-artifact-file', [artifact([fileBytes]), complete]],
  ['tck-artifact-text', [artifact([text('Generated text content')]), complete]],
  ['tck-artifact-data', [artifact([data]), complete]],
  ['tck-input-required', [(ctx) => ctx.requireInput('Please provide more input')]],
  ['tck-reject-task', [(ctx) => ctx.reject('rejected')]],
  ['tck-complete-task', [(ctx) => ctx.complete('Hello from TCK')]],
];

export function conformanceSkill(): Skill {
  return {
    descriptor: {
      id: 'conformance',
      name: 'A2A conformance agent',
      description: 'Behaves as the A2A conformance suite (a2a-tck) expects, chosen by the prefix of the messageId.',
      tags: ['a2a', 'conformance', 'tck', 'test'],
      examples: ['messageId "tck-complete-task-1": completes the task with "Hello from TCK"'],
      inputModes: ['text/plain', 'application/json'],
      outputModes: ['text/plain', 'application/json'],
    },
    // The suite reuses one messageId per scenario for many distinct requests and expects each to start new work.
    deduplicateRequests: false,
    replyDirectly(message: Message): Message | undefined {
      if (!message.messageId.startsWith('tck-message-response')) return undefined;
      return { messageId: randomUUID(), role: 'agent', parts: [text('Direct message response')] };
    },
    async execute(ctx: SkillContext): Promise<void> {
      const scenario = SCENARIOS.find(([prefix]) => ctx.message.messageId.startsWith(prefix));
      if (scenario === undefined) {
        await ctx.complete(`Unhandled messageId prefix: ${ctx.message.messageId}`);
        return;
      }
      for (const step of scenario[1]) await step(ctx);
    },
  };
}
