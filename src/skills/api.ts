// The public Skill API, exported as `kagent-a2a/skill`: what a skill written
// outside this repository is built from. Every name here is covered by the
// semver promise in the README; the rest of src/ is not.
export type { AgentReply, RunSkill, Skill, SkillContext, SkillDescriptor, SkillLog } from './skill.js';
export type {
  Artifact,
  ArtifactUpdateEvent,
  BytesPart,
  Caller,
  DataPart,
  JsonObject,
  JsonValue,
  Message,
  Part,
  Role,
  SendResult,
  StatusUpdateEvent,
  StreamItem,
  Task,
  TaskEvent,
  TaskState,
  TaskStatus,
  TextPart,
  UrlPart,
} from '../model/model.js';
