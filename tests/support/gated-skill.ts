// The skill side of a gate (tests/support/gate.ts): a skill whose run the test
// controls. It holds its task working until the test releases it, and tells
// the test when it started and when it saw its abort signal fire. It talks to
// the test over loopback HTTP, so it works the same in the test's process and
// in a spawned service (loaded there by gated-skill-preload.ts).
import type { Skill, SkillContext } from '../../src/skills/skill.js';
import { installedSkills, installSkill } from '../../src/skills/installed.js';

export const GATED_SKILL = 'gated';

export function gatedSkill(): Skill {
  return {
    descriptor: {
      id: GATED_SKILL,
      name: 'Gated',
      description: 'Test skill: stays working until the test owning metadata.gate lets it finish.',
      tags: ['test'],
    },
    async execute(ctx: SkillContext): Promise<void> {
      const gate = ctx.message.metadata?.gate;
      if (typeof gate !== 'string') {
        await ctx.reject('metadata.gate must be the URL of the test gate');
        return;
      }
      await ctx.working('waiting at the gate');
      // Stored before the test hears of it: a test that then subscribes finds the task working.
      await ctx.durable();
      await tell(`${gate}/started?task=${encodeURIComponent(ctx.taskId)}`);
      let outcome: string;
      for (;;) {
        try {
          const res = await fetch(`${gate}/wait`, { signal: ctx.signal });
          outcome = await res.text();
        } catch (error) {
          if (!ctx.signal.aborted) throw error;
          await tell(`${gate}/aborted`);
          return;
        }
        if (!outcome.startsWith('say:')) break;
        await ctx.working(outcome.slice('say:'.length));
      }
      if (outcome === 'fail') {
        await ctx.fail('the gate said fail');
        return;
      }
      await ctx.artifact({ artifactId: 'echo', name: 'echo', parts: ctx.message.parts }, { lastChunk: true });
      await ctx.complete();
    },
  };
}

async function tell(url: string): Promise<void> {
  const res = await fetch(url, { method: 'POST' });
  await res.arrayBuffer();
}

/** Offers the gated skill to every agent this process starts from now on (once per process). */
export function installGatedSkill(): void {
  if (!installedSkills().some((skill) => skill.descriptor.id === GATED_SKILL)) installSkill(gatedSkill());
}
