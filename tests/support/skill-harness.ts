import type { TaskService } from '../../src/core/task-service.js';
import type { Message, Part } from '../../src/model/model.js';
import type { Skill } from '../../src/skills/skill.js';
import type { SqliteTaskStore } from '../../src/store/sqlite/sqlite-store.js';
import { harnessParts, openHarnessStore, SkillHarness as PublicSkillHarness } from '../../src/testing/skill-harness.js';
import type { SkillHarnessOptions } from '../../src/testing/skill-harness.js';
import { PATIENCE_MS } from './patience.js';

export interface InternalHarnessOptions extends SkillHarnessOptions {
  /**
   * Runs over this store and leaves it open when closed: a second harness
   * over the first one's store is the same pod after a restart.
   */
  store?: SqliteTaskStore;
  /** How often an interrupted task may run again (MAX_RESUMES); default 0. */
  maxResumes?: number;
}

/**
 * The published skill harness (`kagent-a2a/testing`), with this repository's
 * tests' hand on the task service and store beneath it.
 */
export class SkillHarness extends PublicSkillHarness {
  static override async start(skills: Skill | readonly Skill[], options: InternalHarnessOptions = {}): Promise<SkillHarness> {
    const shared = options.store;
    const opened = shared === undefined ? await openHarnessStore() : { store: shared, close: async () => undefined };
    return new SkillHarness(harnessParts(skills, opened.store, options), options.streamTimeoutMs ?? PATIENCE_MS, opened.close);
  }

  get service(): TaskService {
    return this.parts.service;
  }

  get store(): SqliteTaskStore {
    return this.parts.store;
  }
}

let counter = 0;
export function userMessage(parts: Part[] | string, extra: Partial<Message> = {}): Message {
  return {
    messageId: `harness-${process.pid}-${counter++}`,
    role: 'user',
    parts: typeof parts === 'string' ? [{ kind: 'text', text: parts }] : parts,
    ...extra,
  };
}
