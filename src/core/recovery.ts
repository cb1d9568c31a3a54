import type { Message } from '../model/model.js';
import type { Skill } from '../skills/skill.js';
import type { InterruptedTask } from '../store/task-store.js';

// What happens to a task whose run was interrupted — its pod restarted, or
// (shared store) its pod stopped renewing the lease: run it again from the
// stored request when its skill says that is safe, else fail it with a reason.

/** Why nobody runs the task any more. */
export type Interruption =
  | { kind: 'restart' }
  /** `formerPod` held the lease and let it lapse; `by` is the pod taking the task over. */
  | { kind: 'lease'; formerPod: string; by: string };

export type RecoveryDecision = { resume: true; note: string } | { resume: false; reason: string };

/**
 * Resume or fail. `skill` is undefined when this agent no longer offers the
 * task's skill. `maxResumes` bounds how often one task is resumed: a request
 * that stops the process every time it runs must not do so forever.
 * `callerAllowed` is false when the task's caller may no longer use its skill.
 */
export function decideRecovery(
  task: InterruptedTask,
  skill: Skill | undefined,
  maxResumes: number,
  why: Interruption,
  callerAllowed = true,
): RecoveryDecision {
  const cause =
    why.kind === 'restart'
      ? 'the agent restarted while this task was running'
      : `the pod running this task (${why.formerPod}) stopped renewing its lease and is presumed gone`;
  if (skill === undefined) return { resume: false, reason: `${cause}, and this agent no longer offers its skill ${task.skill}; send the request again` };
  if (skill.resumable !== true) return { resume: false, reason: `${cause}; send the request again` };
  if (!callerAllowed) return { resume: false, reason: `${cause}; its caller may no longer use the ${task.skill} skill, so it is not run again` };
  if (maxResumes === 0) return { resume: false, reason: `${cause}; send the request again (resuming interrupted tasks is turned off)` };
  if (task.resumes >= maxResumes) {
    return {
      resume: false,
      reason:
        `${cause}; it had been resumed ${task.resumes} time${task.resumes === 1 ? '' : 's'} already and was interrupted each time, ` +
        `so it is not resumed again (at most ${maxResumes}); send the request again if it should run`,
    };
  }
  const attempt = `resume ${task.resumes + 1} of at most ${maxResumes}`;
  const note =
    why.kind === 'restart'
      ? `${cause}; resumed after the restart from the stored request (${attempt})`
      : `${cause}; ${why.by} resumed it from the stored request (${attempt})`;
  return { resume: true, note };
}

/**
 * The request a resumed run starts from: the last user message of the stored
 * history (the first message, or the input that continued the task), with the
 * history up to it. What the interrupted run said after it is left out.
 */
export function resumeRequest(history: readonly Message[]): { message: Message; history: Message[] } | undefined {
  for (let i = history.length - 1; i >= 0; i--) {
    if (history[i]!.role === 'user') return { message: history[i]!, history: history.slice(0, i + 1) };
  }
  return undefined;
}

/**
 * Why a resumable run was stopped at shutdown: its task is left as it is, for
 * the next start (or, with a shared store, another pod) to resume.
 */
export class LeftForResume extends Error {
  constructor() {
    super('the agent shut down before the task finished; it is resumed when the agent starts again');
    this.name = 'LeftForResume';
  }
}
