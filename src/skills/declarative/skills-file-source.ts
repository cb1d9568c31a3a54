import { existsSync, readFileSync } from 'node:fs';
import { watchMountedPath } from '../../config/mounted-path.js';
import type { MountedPathWatch } from '../../config/mounted-path.js';
import { EMPTY_SKILLS_FILE, parseSkillsFile } from '../../config/skills-file.js';
import type { SkillsFile } from '../../config/skills-file.js';
import type { Skill } from '../skill.js';

export interface SkillsFileSourceOptions {
  /** The skills file (SKILLS_FILE, or skills.yaml in the mounted ConfigMap). */
  path: string;
  /** The skills of a validated file; throws SkillsFileError on what only the agent can check. */
  build: (file: SkillsFile) => Skill[];
  /** Puts a built set in force (the registry, the MCP servers); throws, changing nothing, when it cannot. */
  apply: (skills: Skill[], file: SkillsFile) => void;
  /** A set was put in force (not at the first load). */
  onApplied: (ids: string[]) => void;
  /** A changed file was refused; the set in force stays. Told once per distinct failure. */
  onRejected: (error: unknown) => void;
  /** The watch itself failed (the poll keeps going). */
  onWatchError: (error: unknown) => void;
  /** Re-read this often even without a file event (some volumes send none). */
  pollMs?: number;
}

/**
 * The skills file, watched like the settings (same mounted-volume watch, same
 * rule): an edit that validates replaces the declared skills at once; one that
 * does not is refused with its reason and the last good set stays in force.
 */
export class SkillsFileSource {
  private applied: string | undefined;
  private lastFailure: string | undefined;
  /** The ids of the set in force, for the log. */
  private ids: string[] = [];
  private watch: MountedPathWatch | undefined;

  constructor(private readonly options: SkillsFileSourceOptions) {}

  /** The first load, at start, put in force by the caller: a bad file stops the start. */
  load(): { skills: Skill[]; file: SkillsFile } {
    const text = this.read();
    const built = this.build(text);
    this.applied = text;
    return built;
  }

  start(): void {
    this.watch = watchMountedPath(this.options.path, () => this.reload(), { pollMs: this.options.pollMs, onError: this.options.onWatchError });
  }

  stop(): void {
    this.watch?.stop();
  }

  /** Reads the file now; applies it when it changed and validates. */
  reload(): void {
    let text: string;
    try {
      text = this.read();
      if (text === this.applied) {
        this.lastFailure = undefined;
        return;
      }
      this.put(text);
    } catch (error) {
      const failure = error instanceof Error ? error.message : String(error);
      if (failure !== this.lastFailure) this.options.onRejected(error);
      this.lastFailure = failure;
      return;
    }
    this.lastFailure = undefined;
    this.options.onApplied(this.ids);
  }

  private build(text: string): { skills: Skill[]; file: SkillsFile } {
    const file = text.trim() === '' ? EMPTY_SKILLS_FILE : parseSkillsFile(text, this.options.path);
    return { skills: this.options.build(file), file };
  }

  private put(text: string): void {
    const { skills, file } = this.build(text);
    this.options.apply(skills, file);
    this.applied = text;
    this.ids = skills.map((skill) => skill.descriptor.id);
  }

  /** The file's text; a missing file (a ConfigMap without the key) is an empty one. */
  private read(): string {
    return existsSync(this.options.path) ? readFileSync(this.options.path, 'utf8') : '';
  }
}
