// One review, from what the request carried to the report: parsing, the
// rules, the bounded report. It runs in the reviewer's worker thread, so that
// a megabyte of YAML never holds up the event loop, and never needs anything
// but its job.
import { ManifestParseError, manifestValues, parseManifestText } from './parse.js';
import type { ManifestDocument } from './parse.js';
import { boundedReport, markdownReport } from './report.js';
import type { Report } from './report.js';
import { reviewManifests } from './review.js';

/** Text to parse, or values already parsed (a data part). */
export type ReviewInput =
  | {
      kind: 'text';
      text: string;
      /** Where it came from: "message text", a file name, "overlays/prod (kustomize)". */
      source: string;
      /**
       * Set when the text only may be manifests: unless it parses into at
       * least one object with apiVersion and kind, it is left out with this
       * note instead of failing the review.
       */
      unlessNot?: string;
    }
  | { kind: 'values'; values: unknown; source: string };

export interface ReviewJob {
  inputs: ReviewInput[];
  nodeCount?: number;
  maxFindings: number;
}

export type ReviewOutcome =
  | { kind: 'reviewed'; report: Report; markdown: string }
  /** Nothing to review: the notes say what was left out. */
  | { kind: 'nothing'; skipped: string[] }
  | { kind: 'unparseable'; message: string };

export async function runReview(job: ReviewJob): Promise<ReviewOutcome> {
  const documents: ManifestDocument[] = [];
  const sources: string[] = [];
  const skipped: string[] = [];
  for (const input of job.inputs) {
    if (input.kind === 'values') {
      documents.push(...manifestValues(input.values, input.source));
      sources.push(input.source);
      continue;
    }
    let parsed: ManifestDocument[];
    try {
      parsed = parseManifestText(input.text, input.source);
    } catch (error) {
      if (input.unlessNot !== undefined) {
        skipped.push(input.unlessNot);
        continue;
      }
      if (error instanceof ManifestParseError) return { kind: 'unparseable', message: error.message };
      throw error;
    }
    if (input.unlessNot !== undefined && !parsed.some(({ value }) => isKubernetesObject(value))) {
      skipped.push(input.unlessNot);
      continue;
    }
    documents.push(...parsed);
    sources.push(input.source);
  }
  if (documents.length === 0) return { kind: 'nothing', skipped };
  const result = await reviewManifests(documents, job.nodeCount === undefined ? {} : { nodeCount: job.nodeCount });
  const report = boundedReport(result, job.maxFindings);
  return { kind: 'reviewed', report, markdown: markdownReport(report, sources, job.maxFindings) };
}

function isKubernetesObject(value: unknown): boolean {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const o = value as Record<string, unknown>;
  return typeof o.apiVersion === 'string' && typeof o.kind === 'string';
}
