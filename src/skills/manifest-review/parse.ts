// Reading manifests: multi-document YAML (JSON is YAML too), `kind: List`
// wrappers unfolded, each document remembered with where it came from.
import { parseAllDocuments } from 'yaml';
import { findDeepNesting } from './nesting.js';

/** Deepest nesting of YAML collections read; the parser recurses per level and must never reach the end of the stack. */
export const MAX_YAML_DEPTH = 100;

/** One document of the input, before anything is known about it. */
export interface ManifestDocument {
  value: unknown;
  /** Where it came from: "message text", a file name, "overlays/prod (kustomize)". */
  source: string;
  /** 1-based position of the document in its source. */
  document: number;
}

export class ManifestParseError extends Error {
  constructor(
    message: string,
    readonly source: string,
    readonly line: number | undefined,
    readonly column: number | undefined,
  ) {
    super(message);
    this.name = 'ManifestParseError';
  }
}

/** Parses YAML or JSON text into documents; a syntax error throws with its line and column. */
export function parseManifestText(text: string, source: string): ManifestDocument[] {
  const deep = findDeepNesting(text, MAX_YAML_DEPTH);
  if (deep !== undefined) {
    throw new ManifestParseError(
      `cannot parse the YAML in ${source} (line ${deep}): it nests collections deeper than ${MAX_YAML_DEPTH} levels, far more than any Kubernetes object needs`,
      source,
      deep,
      undefined,
    );
  }
  const documents: ManifestDocument[] = [];
  let index = 0;
  for (const doc of parseAllDocuments(text, { prettyErrors: true })) {
    index++;
    const error = doc.errors[0];
    if (error !== undefined) {
      const position = error.linePos?.[0];
      const summary = error.message.split('\n')[0]!.replace(/:$/, '');
      throw new ManifestParseError(
        `cannot parse the YAML in ${source}${position === undefined ? '' : ` (line ${position.line}, column ${position.col})`}: ${summary}`,
        source,
        position?.line,
        position?.col,
      );
    }
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (cause) {
      throw new ManifestParseError(`cannot read the YAML in ${source} (document ${index}): ${(cause as Error).message}`, source, undefined, undefined);
    }
    if (value === null || value === undefined) continue;
    documents.push(...unfold(value, source, index));
  }
  return documents;
}

/** Documents from values already parsed (a data part): a list of objects, or one. */
export function manifestValues(values: unknown, source: string): ManifestDocument[] {
  const list = Array.isArray(values) ? values : [values];
  return list.flatMap((value, i) => unfold(value, source, i + 1));
}

/** A `kind: List` (what `kubectl get -o yaml` prints) stands for its items. */
function unfold(value: unknown, source: string, document: number): ManifestDocument[] {
  if (isObject(value) && typeof value.kind === 'string' && value.kind.endsWith('List') && Array.isArray(value.items) && value.apiVersion === 'v1') {
    return value.items.map((item) => ({ value: item, source, document }));
  }
  return [{ value, source, document }];
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Does a text look like Kubernetes objects: YAML documents, at least one with apiVersion and kind? */
export function textHasManifests(text: string): boolean {
  if (!/\bapiVersion\b/.test(text) || !/\bkind\b/.test(text)) return false;
  try {
    return parseManifestText(text, 'text').some(({ value }) => isObject(value) && typeof value.apiVersion === 'string' && typeof value.kind === 'string');
  } catch {
    return false;
  }
}

/** Does a text mean to be YAML or JSON manifests, even if it does not parse? */
export function textMeansManifests(text: string): boolean {
  const trimmed = text.trimStart();
  // Blanks, not \s: \s also matches newlines, and from every line start it would scan all the blank lines after it.
  return /^[ \t]*["']?(apiVersion|kind)["']?[ \t]*:/m.test(text) || trimmed.startsWith('---') || trimmed.startsWith('{') || trimmed.startsWith('[');
}
