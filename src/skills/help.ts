import { randomUUID } from 'node:crypto';
import type { Caller, Message } from '../model/model.js';
import type { Skill, SkillDescriptor } from './skill.js';

/**
 * Answers with what this agent can do, without creating a task: where a
 * message names no skill and nothing else fits it, this is the honest reply.
 * `skillsFor` gives the skills the asking caller may use: a list that named
 * the others would tell a caller what it is kept out of.
 */
export function helpSkill(skillsFor: (caller: Caller) => readonly SkillDescriptor[]): Skill {
  const descriptor: SkillDescriptor = {
    id: 'help',
    name: 'What this agent can do',
    description: 'Lists the skills this agent offers and how to ask for one (metadata.skill). Messages that name no skill and match none get this answer.',
    tags: ['help', 'discovery'],
    examples: ['what can you do?'],
    inputModes: ['text/plain'],
    outputModes: ['text/plain', 'application/json'],
  };
  return {
    descriptor,
    replyDirectly(message: Message, caller: Caller): Message {
      const offered = skillsFor(caller).filter((s) => s.id !== descriptor.id);
      const lines = offered.map((s) => `- ${s.id}: ${s.description}`);
      return {
        messageId: randomUUID(),
        role: 'agent',
        parts: [
          {
            kind: 'text',
            text: `I did not find a skill for this message. Name one in metadata.skill; this agent offers:\n${lines.join('\n')}`,
            mediaType: 'text/markdown',
          },
          {
            kind: 'data',
            data: { skills: offered.map((s) => ({ id: s.id, name: s.name, description: s.description, tags: s.tags })) },
            mediaType: 'application/json',
          },
        ],
        ...(message.contextId === undefined ? {} : { contextId: message.contextId }),
      };
    },
    async execute(): Promise<void> {
      // replyDirectly always answers; a task never reaches this skill.
    },
  };
}
