// What a diagnosis reports: one problem, its cause, its fix and the evidence.
export type DiagnosisSeverity = 'critical' | 'warning' | 'info';

export interface DiagnosisFinding {
  severity: DiagnosisSeverity;
  /** A stable name for the kind of problem: CrashLoopBackOff, OOMKilled, Unschedulable… */
  reason: string;
  /** "Pod/kagent-3", "StatefulSet/kagent". */
  object: string;
  cause: string;
  fix: string;
  evidence: string[];
}

export const SEVERITY_ORDER: Readonly<Record<DiagnosisSeverity, number>> = { critical: 0, warning: 1, info: 2 };
