import { UnknownSkillError } from '../model/errors.js';
import type { Message } from '../model/model.js';
import type { Skill, SkillDescriptor } from '../skills/skill.js';

/** The skills this agent runs, and which one a message is for. */
export class SkillRegistry {
  private readonly skills = new Map<string, Skill>();

  constructor(skills: readonly Skill[], private readonly defaultSkillId: string) {
    for (const skill of skills) {
      if (this.skills.has(skill.descriptor.id)) throw new Error(`skill "${skill.descriptor.id}" registered twice`);
      this.skills.set(skill.descriptor.id, skill);
    }
    if (!this.skills.has(defaultSkillId)) throw new Error(`default skill "${defaultSkillId}" is not registered`);
  }

  descriptors(): SkillDescriptor[] {
    return [...this.skills.values()].map((skill) => skill.descriptor);
  }

  get(id: string): Skill {
    const skill = this.skills.get(id);
    if (skill === undefined) throw new UnknownSkillError(id, [...this.skills.keys()]);
    return skill;
  }

  /** A message names its skill in `metadata.skill`; without one it goes to the default skill. */
  route(message: Message): Skill {
    const requested = message.metadata?.skill;
    if (requested === undefined) return this.get(this.defaultSkillId);
    if (typeof requested !== 'string') throw new UnknownSkillError(JSON.stringify(requested), [...this.skills.keys()]);
    return this.get(requested);
  }
}
