// `kagent-a2a/testing`: what a skill's author tests a skill with. Covered by
// the semver promise in the README, as `kagent-a2a/skill` is.
export { SkillHarness } from './skill-harness.js';
export type { HarnessLogLine, SkillHarnessOptions } from './skill-harness.js';
