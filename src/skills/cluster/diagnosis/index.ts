// Turns what was read from the API into findings: a cause, a fix and the
// evidence for each problem. Pure functions over the objects, one file per
// kind of thing diagnosed; reading them is the skill's job (../diagnose.ts).
import type { DiagnosisFinding } from './finding.js';
import { SEVERITY_ORDER } from './finding.js';
import type { Observed } from './observed.js';
import { analyzePod } from './pods.js';
import { analyzeClaim, claimsToReport } from './storage.js';
import { analyzeDeployment, analyzeStatefulSet } from './workloads.js';

export type { DiagnosisFinding, DiagnosisSeverity } from './finding.js';
export type { Observed } from './observed.js';
export { deploymentNameOf } from './scheduling.js';
export { workloadLine } from './workloads.js';

export function diagnose(observed: Observed): DiagnosisFinding[] {
  const findings: DiagnosisFinding[] = [];
  const podFindings = new Map<string, DiagnosisFinding[]>();
  for (const pod of observed.pods) {
    const found = analyzePod(pod, observed);
    podFindings.set(pod.metadata?.name ?? '', found);
    findings.push(...found);
  }
  for (const claim of claimsToReport(observed)) findings.push(...analyzeClaim(claim, observed));
  if (observed.workloadsAsContext !== true) {
    for (const set of observed.statefulSets) findings.push(...analyzeStatefulSet(set, observed, podFindings));
    for (const deployment of observed.deployments) findings.push(...analyzeDeployment(deployment, observed, podFindings));
  }
  return findings
    .map((finding, index) => ({ finding, index }))
    .sort((a, b) => SEVERITY_ORDER[a.finding.severity] - SEVERITY_ORDER[b.finding.severity] || a.index - b.index)
    .map(({ finding }) => finding);
}
