import { ConfigError } from '../config/load.js';
import { SkillNotAllowedError } from '../model/errors.js';
import type { Caller } from '../model/model.js';

/** One `skill=grant,grant` rule: a skill id, or a prefix when it ended in `*`. */
interface Rule {
  pattern: string;
  prefix: boolean;
  /** Scopes or principal names; a caller holding any one of them may use the skill. */
  grants: readonly string[];
}

const SKILL_PATTERN = /^[A-Za-z0-9._-]+\*?$|^\*$/;
const GRANT_PATTERN = /^[^\s,;=|]+$/;

/**
 * Who may use which skill: `SKILL_PERMISSIONS` = `skill=grant|grant,…;skill=…`,
 * where a grant is a scope or a principal name and a trailing `*` makes the
 * skill a prefix (`cluster-*`). A skill no rule names is open to every
 * authenticated caller. When several rules match a skill, the most specific
 * (an exact id, else the longest prefix) decides.
 */
export class SkillPermissions {
  private constructor(private readonly rules: readonly Rule[]) {}

  static readonly OPEN = new SkillPermissions([]);

  /** Parses the setting; a malformed rule is a ConfigError naming it. */
  static parse(text: string, setting = 'SKILL_PERMISSIONS'): SkillPermissions {
    const rules: Rule[] = [];
    for (const raw of text.split(';')) {
      const entry = raw.trim();
      if (entry === '') continue;
      const eq = entry.indexOf('=');
      if (eq <= 0) throw new ConfigError(setting, 'settings', `"${entry}" is not skill=scope|principal,… (e.g. cluster-*=kagent:cluster-read)`);
      const pattern = entry.slice(0, eq).trim();
      if (!SKILL_PATTERN.test(pattern)) throw new ConfigError(setting, 'settings', `"${pattern}" is not a skill id or a prefix ending in *`);
      const grants = entry
        .slice(eq + 1)
        .split(/[,|]/)
        .map((grant) => grant.trim())
        .filter((grant) => grant !== '');
      if (grants.length === 0) throw new ConfigError(setting, 'settings', `"${pattern}" grants nobody; name at least one scope or principal`);
      const bad = grants.find((grant) => !GRANT_PATTERN.test(grant));
      if (bad !== undefined) throw new ConfigError(setting, 'settings', `"${bad}" is not a scope or principal name`);
      const prefix = pattern.endsWith('*');
      const rule = { pattern: prefix ? pattern.slice(0, -1) : pattern, prefix, grants };
      if (rules.some((other) => other.pattern === rule.pattern && other.prefix === rule.prefix)) {
        throw new ConfigError(setting, 'settings', `"${pattern}" is named twice`);
      }
      rules.push(rule);
    }
    return new SkillPermissions(rules);
  }

  /** Whether some rule names the skill: it is then not open to everyone. */
  isRestricted(skillId: string): boolean {
    return this.ruleFor(skillId) !== undefined;
  }

  allows(caller: Caller, skillId: string): boolean {
    const rule = this.ruleFor(skillId);
    if (rule === undefined) return true;
    return rule.grants.some((grant) => grant === caller.principal || (caller.scopes ?? []).includes(grant));
  }

  /** Throws SkillNotAllowedError naming the skill and the scopes that would do. */
  authorize(caller: Caller, skillId: string): void {
    if (this.allows(caller, skillId)) return;
    // Scopes are part of the public contract; principal names are not told to other callers.
    const scopes = this.ruleFor(skillId)!.grants.filter((grant) => grant.includes(':'));
    throw new SkillNotAllowedError(skillId, scopes);
  }

  /** The scopes that unlock a skill (for the card's per-skill security requirements). */
  scopesFor(skillId: string): readonly string[] {
    return (this.ruleFor(skillId)?.grants ?? []).filter((grant) => grant.includes(':'));
  }

  private ruleFor(skillId: string): Rule | undefined {
    let best: Rule | undefined;
    for (const rule of this.rules) {
      if (!rule.prefix) {
        if (rule.pattern === skillId) return rule;
        continue;
      }
      if (skillId.startsWith(rule.pattern) && (best === undefined || rule.pattern.length > best.pattern.length)) best = rule;
    }
    return best;
  }
}
