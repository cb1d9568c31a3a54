import { UnknownSkillError } from '../model/errors.js';
import type { Message } from '../model/model.js';
import type { Skill, SkillDescriptor } from '../skills/skill.js';

export interface RoutingOptions {
  /** Skills chosen by what a message holds, tried in order, when it names none (e.g. YAML → manifest-review). */
  byContent?: { skillId: string; matches: (message: Message) => boolean }[];
  /** Who takes a message naming a skill this agent lacks (delegation to a peer that has it), if anyone. */
  forUnknown?: () => Skill | undefined;
}

/**
 * The skills this agent runs, and which one a message is for. The skills
 * built at start are fixed; the declared ones (the skills file) are replaced
 * as a set while the agent runs. A run keeps the Skill it started with, so a
 * replaced or removed skill's running tasks finish on their old definition.
 */
export class SkillRegistry {
  private readonly fixed = new Set<string>();
  private skills = new Map<string, Skill>();
  private readonly listeners: (() => void)[] = [];

  constructor(
    skills: readonly Skill[],
    private readonly defaultSkillId: string,
    private readonly routing: RoutingOptions = {},
    declared: readonly Skill[] = [],
  ) {
    for (const skill of skills) {
      if (this.skills.has(skill.descriptor.id)) throw new Error(`skill "${skill.descriptor.id}" registered twice`);
      this.skills.set(skill.descriptor.id, skill);
      this.fixed.add(skill.descriptor.id);
    }
    this.replaceDeclared(declared);
    if (!this.skills.has(defaultSkillId)) throw new Error(`default skill "${defaultSkillId}" is not registered`);
    for (const rule of routing.byContent ?? []) {
      if (!this.fixed.has(rule.skillId)) throw new Error(`content routing names unregistered skill "${rule.skillId}"`);
    }
  }

  /** Replaces every declared skill at once; throws, changing nothing, when one would take a fixed skill's id or two share one. */
  replaceDeclared(declared: readonly Skill[]): void {
    const next = new Map([...this.skills].filter(([id]) => this.fixed.has(id)));
    for (const skill of declared) {
      if (next.has(skill.descriptor.id)) throw new Error(`skill "${skill.descriptor.id}" registered twice`);
      next.set(skill.descriptor.id, skill);
    }
    // Messages that name no skill go to the default: it cannot go away while the agent runs.
    if (this.skills.has(this.defaultSkillId) && !next.has(this.defaultSkillId)) {
      throw new Error(`skill "${this.defaultSkillId}" is the default skill (DEFAULT_SKILL) and cannot be removed while the agent runs`);
    }
    this.skills = next;
    for (const listener of this.listeners) listener();
  }

  /** Told after each replacement of the declared skills (the agent card is rebuilt). */
  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  /** Whether the id is one of the skills built at start (not a declared one). */
  isFixed(id: string): boolean {
    return this.fixed.has(id);
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
