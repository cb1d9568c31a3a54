import { setTimeout as sleep } from 'node:timers/promises';
import type { JsonValue, Part } from '../model/model.js';
import type { Skill, SkillContext } from './skill.js';

export interface EchoOptions {
  /** Longest `metadata.delayMs` honoured; longer requests are cut to this. */
  maxDelayMs: number;
}

/**
 * Echoes the message back as an artifact, through the full task lifecycle
 * (submitted → working → completed). With `metadata.delayMs` it stays working
 * that long, reporting progress each second, and stops when canceled: the
 * workhorse of lifecycle, cancel, drain and failover tests.
 */
export function echoSkill(options: EchoOptions): Skill {
  return {
    descriptor: {
      id: 'echo',
      name: 'Echo',
      description:
        'Returns the parts it was sent as an artifact. Set metadata.delayMs to keep the task working that long, with a progress update each second.',
      tags: ['echo', 'test', 'diagnostics'],
      examples: ['hello', '{"metadata": {"skill": "echo", "delayMs": 5000}}'],
      inputModes: ['text/plain', 'application/json', 'application/octet-stream'],
      outputModes: ['text/plain', 'application/json', 'application/octet-stream'],
    },
    resumable: true,
    async execute(ctx: SkillContext): Promise<void> {
      const delayMs = Math.min(requestedDelay(ctx.message.metadata?.delayMs), options.maxDelayMs);
      await ctx.working(delayMs > 0 ? `echoing in ${delayMs} ms` : undefined);
      const started = Date.now();
      let elapsed = 0;
      while (elapsed < delayMs) {
        await sleep(Math.min(1000, delayMs - elapsed), undefined, { signal: ctx.signal });
        elapsed = Date.now() - started;
        // The state travels beside the text: every client shows "working" already.
        if (elapsed < delayMs) await ctx.working(`${Math.floor(elapsed / 1000)}s of ${Math.ceil(delayMs / 1000)}s`);
      }
      const parts: Part[] = ctx.message.parts;
      await ctx.artifact({ artifactId: 'echo', name: 'echo', parts }, { lastChunk: true });
      await ctx.complete();
    },
  };
}

function requestedDelay(value: JsonValue | undefined): number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? Math.floor(value) : 0;
}
