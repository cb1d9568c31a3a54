import { UnknownSkillError } from '../model/errors.js';
import type { Message } from '../model/model.js';
import type { Skill, SkillDescriptor } from '../skills/skill.js';

export interface RoutingOptions {
  /** Skills chosen by what a message holds, tried in order, when it names none (e.g. YAML → manifest-review). */
  byContent?: { skillId: string; matches: (message: Message) => boolean }[];
  /** Who takes a message naming a skill this agent lacks (delegation to a peer that has it), if anyone. */
  forUnknown?: () => Skill | undefined;
}

/** The skills this agent runs, and which one a message is for. */
export class SkillRegistry {
  private readonly skills = new Map<string, Skill>();

  constructor(
    skills: readonly Skill[],
    private readonly defaultSkillId: string,
    private readonly routing: RoutingOptions = {},
  ) {
    for (const skill of skills) {
      if (this.skills.has(skill.descriptor.id)) throw new Error(`skill "${skill.descriptor.id}" registered twice`);
      this.skills.set(skill.descriptor.id, skill);
    }
    if (!this.skills.has(defaultSkillId)) throw new Error(`default skill "${defaultSkillId}" is not registered`);
    for (const rule of routing.byContent ?? []) {
      if (!this.skills.has(rule.skillId)) throw new Error(`content routing names unregistered skill "${rule.skillId}"`);
    }
  }

  descriptors(): SkillDescriptor[] {
    return [...this.skills.values()].map((skill) => skill.descriptor);
  }

  /** The skill, or undefined when this agent does not offer it (any more). */
  find(id: string): Skill | undefined {
    return this.skills.get(id);
  }

  get(id: string): Skill {
    const skill = this.skills.get(id);
    if (skill === undefined) throw new UnknownSkillError(id, [...this.skills.keys()]);
    return skill;
  }

  /** The error for a skill this agent lacks, listing only the skills `offered` admits: a caller is not told of skills kept from it. */
  private unknown(id: string, offered: (skillId: string) => boolean): UnknownSkillError {
    return new UnknownSkillError(id, [...this.skills.keys()].filter(offered));
  }

  /**
   * A message names its skill in `metadata.skill` or in a data part's `skill`;
   * a skill this agent lacks goes to `forUnknown` when there is one. Without a
   * name, the content decides, else the default skill. A name no skill has
   * is an error listing the skills `offered` admits (the caller's own).
   */
  route(message: Message, offered: (skillId: string) => boolean = () => true): Skill {
    const requested = requestedSkill(message);
    if (requested !== undefined) {
      if (typeof requested !== 'string') throw this.unknown(JSON.stringify(requested), offered);
      const skill = this.skills.get(requested) ?? this.routing.forUnknown?.();
      if (skill === undefined) throw this.unknown(requested, offered);
      return skill;
    }
    const byContent = this.routing.byContent?.find((rule) => rule.matches(message));
    return this.get(byContent?.skillId ?? this.defaultSkillId);
  }
}

/** The skill a message names, in `metadata.skill` or a data part's `skill`; not necessarily a string. */
export function requestedSkill(message: Message): unknown {
  const named = message.metadata?.skill;
  if (named !== undefined) return named;
  for (const part of message.parts) {
    if (part.kind === 'data' && typeof part.data === 'object' && part.data !== null && !Array.isArray(part.data) && 'skill' in part.data) {
      return part.data.skill;
    }
  }
  return undefined;
}
