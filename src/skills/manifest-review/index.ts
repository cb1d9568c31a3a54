// manifest-review: reviews Kubernetes manifests with no cluster at all —
// strict schema validation, workload hygiene, and the consistency of Services,
// StatefulSets, PodDisruptionBudgets and autoscalers with what they point at.
import { readFileSync, statSync } from 'node:fs';
import type { Skill, SkillContext, SkillDescriptor } from '../skill.js';
import { BadRequest, readRequest } from './input.js';
import type { ReviewRequest } from './input.js';
import { findRenderer, isKustomizeDir, realRoots, RenderError, renderKustomize, resolveUnderRoots } from './kustomize.js';
import { checkKustomizationTree } from './kustomize-check.js';
import type { Renderer } from './kustomize.js';
import { notShownNote, summaryLine } from './report.js';
import type { ReviewJob, ReviewOutcome } from './review-job.js';
import { Reviewer, ReviewerError } from './reviewer.js';

export { looksLikeManifests } from './input.js';
export { RULES } from './rules.js';
export type { ReviewFinding, ReviewSeverity, RuleId } from './rules.js';

export interface ManifestReviewOptions {
  /** Directories under which a path named in a request may be read (MANIFEST_ROOTS); empty: inline manifests only. */
  roots: readonly string[];
  /** Longest a Kustomize render may take. */
  renderTimeoutMs?: number;
  /** Which Kustomize to run; found on PATH (kubectl kustomize, else kustomize build) when not given. */
  renderer?: () => Renderer;
  /** Most findings one review lists (MAX_FINDINGS); the counts cover all. Default 200. */
  maxFindings?: number;
  /** Where details the caller must not see (Kustomize's own error output) go. */
  log?: (fields: Record<string, unknown>, message: string) => void;
}

const DEFAULT_MAX_FINDINGS = 200;

const MAX_FILE_BYTES = 8 * 1024 * 1024;

export function manifestReviewDescriptor(options: Pick<ManifestReviewOptions, 'roots'>): SkillDescriptor {
  const paths = options.roots.length > 0;
  return {
    id: 'manifest-review',
    name: 'Manifest review',
    description:
      'Reviews Kubernetes manifests offline, with no cluster: schema errors and unknown fields, missing requests/limits and probes, ' +
      'probes on undeclared ports, root or writable root filesystem, privilege escalation, added capabilities, no seccomp, latest or untagged images, ' +
      'Services selecting no pods, StatefulSets without their headless Service, required anti-affinity with more replicas than a stated nodeCount, ' +
      'PodDisruptionBudgets that block every eviction or protect nothing, and autoscalers with a missing target or minReplicas > maxReplicas. ' +
      'Send YAML or JSON as text or a file, or a data part {"manifests": …, "nodeCount": 3}' +
      (paths ? ', or the path of a Kustomize directory under an allowed root (rendered with Kustomize)' : '') +
      '. Returns the findings as JSON ({findings: [{severity, rule, object, path, message, fix}]}) and a Markdown report.',
    tags: ['kubernetes', 'manifests', 'kustomize', 'review', 'lint', 'security', 'offline'],
    examples: [
      'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec: …',
      '{"manifests": "apiVersion: v1\\nkind: Service\\n…", "nodeCount": 3}',
      ...(paths ? ['kubernetes/kagent/overlays/prod'] : []),
    ],
    inputModes: ['text/plain', 'application/yaml', 'application/json'],
    outputModes: ['application/json', 'text/markdown'],
  };
}

export function manifestReviewSkill(options: ManifestReviewOptions): Skill {
  const roots = [...options.roots];
  const maxFindings = options.maxFindings ?? DEFAULT_MAX_FINDINGS;
  const reviewer = new Reviewer();
  return {
    descriptor: manifestReviewDescriptor(options),
    // A review reads what it was sent (or files under the roots) and writes its artifacts by fixed ids: running it again is harmless.
    resumable: true,
    async execute(ctx: SkillContext): Promise<void> {
      let request: ReviewRequest;
      try {
        request = readRequest(ctx.message);
      } catch (error) {
        if (error instanceof BadRequest) return ctx.reject(error.message);
        throw error;
      }

      for (const path of request.paths) {
        const resolved = resolveUnderRoots(path, roots);
        if (!resolved.ok) return ctx.reject(resolved.message);
        const stat = statSync(resolved.realPath);
        if (stat.isDirectory()) {
          if (!isKustomizeDir(resolved.realPath)) return ctx.reject(`cannot review ${path}: it is a directory without a kustomization.yaml`);
          const tree = checkKustomizationTree(resolved.realPath, realRoots(roots));
          if (!tree.ok) return ctx.reject(`cannot render ${path}: ${tree.message}`);
          let renderer: Renderer;
          try {
            renderer = (options.renderer ?? findRenderer)();
          } catch (error) {
            return ctx.fail((error as Error).message);
          }
          await ctx.working(`rendering ${path} with ${renderer.describe}`);
          let yaml: string;
          try {
            yaml = await renderKustomize(resolved.realPath, { renderer, signal: ctx.signal, timeoutMs: options.renderTimeoutMs ?? 60_000 }, path);
          } catch (error) {
            if (ctx.signal.aborted) throw ctx.signal.reason;
            // What Kustomize said names server paths: the log has it whole, the caller a short reason.
            if (error instanceof RenderError) options.log?.({ taskId: ctx.taskId, path, stderr: error.detail }, 'kustomize failed');
            return ctx.fail((error as Error).message);
          }
          request.inputs.push({ kind: 'text', text: yaml, source: `${path} (kustomize)` });
        } else if (stat.isFile() && /\.(ya?ml|json)$/i.test(resolved.realPath)) {
          if (stat.size > MAX_FILE_BYTES) return ctx.reject(`cannot review ${path}: larger than ${MAX_FILE_BYTES} bytes`);
          request.inputs.push({ kind: 'text', text: readFileSync(resolved.realPath, 'utf8'), source: path });
        } else {
          return ctx.reject(`cannot review ${path}: it is neither a Kustomize directory nor a .yaml/.json file`);
        }
      }

      const askForManifests = (skippedParts: string[]) => {
        const ways = [
          'YAML or JSON as text',
          'a .yaml/.json file',
          'a data part {"manifests": …}',
          ...(roots.length > 0 ? ['the path of a Kustomize directory under an allowed root'] : []),
        ];
        // A message of thousands of parts gets a reply of a few lines, not one line per part.
        const listed = skippedParts.slice(0, 5).join('; ') + (skippedParts.length > 5 ? `; and ${skippedParts.length - 5} more parts` : '');
        const skipped = skippedParts.length > 0 ? ` (not used: ${listed})` : '';
        return ctx.requireInput(`Send the Kubernetes manifests to review: ${ways.join(', ')}.${skipped}`);
      };
      if (request.inputs.length === 0) return askForManifests(request.skipped);

      await ctx.working('reviewing the manifests');
      const job: ReviewJob = { inputs: request.inputs, maxFindings, ...(request.nodeCount === undefined ? {} : { nodeCount: request.nodeCount }) };
      let outcome: ReviewOutcome;
      try {
        outcome = await reviewer.review(job, ctx.signal);
      } catch (error) {
        if (ctx.signal.aborted) throw ctx.signal.reason;
        if (error instanceof ReviewerError) return ctx.fail(error.message);
        throw error;
      }
      if (outcome.kind === 'unparseable') return ctx.fail(outcome.message);
      if (outcome.kind === 'nothing') return askForManifests([...request.skipped, ...outcome.skipped]);
      const { report } = outcome;
      await ctx.artifact(
        {
          artifactId: 'manifest-review-findings',
          name: 'findings',
          description: 'Findings of the manifest review, errors first',
          parts: [
            {
              kind: 'data',
              mediaType: 'application/json',
              data: {
                findings: report.findings.map((f) => ({ ...f })),
                summary: { ...report.counts, ...(report.notShown > 0 ? { notShown: report.notShown } : {}) },
              },
            },
          ],
        },
        { lastChunk: true },
      );
      await ctx.artifact(
        {
          artifactId: 'manifest-review-report',
          name: 'report.md',
          description: 'The manifest review as Markdown',
          parts: [{ kind: 'text', mediaType: 'text/markdown', text: outcome.markdown }],
        },
        { lastChunk: true },
      );
      await ctx.complete(summaryLine(report.counts) + notShownNote(report, maxFindings));
    },
  };
}
