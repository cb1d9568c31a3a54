// The review: each rule looks at the objects and says what is wrong, where,
// and how to fix it. Everything here works offline, on the objects alone.
import { containerRules, podRules } from './container-rules.js';
import type { ManifestDocument } from './parse.js';
import { Review, podTemplateOf } from './reviewed.js';
import type { Item } from './reviewed.js';
import type { ReviewOptions, ReviewResult, ReviewSeverity } from './rules.js';
import { builtInApiVersion, checkSchema } from './schema.js';
import { antiAffinityRule, hpaRules, pdbRule, serviceRules, statefulSetRule } from './topology-rules.js';
import { formatPath, rec, str } from './values.js';

/** Reviews the documents; findings come sorted, errors first. */
export async function reviewManifests(documents: readonly ManifestDocument[], options: ReviewOptions = {}): Promise<ReviewResult> {
  const review = new Review(options);
  const names: string[] = [];
  const order = new Map<string, number>();

  for (const [index, doc] of documents.entries()) {
    const value = rec(doc.value);
    const apiVersion = str(value.apiVersion);
    const kind = str(value.kind);
    const metadata = rec(value.metadata);
    const name = str(metadata.name) ?? str(metadata.generateName) ?? '(unnamed)';
    const namespace = str(metadata.namespace);
    const id =
      apiVersion === undefined || kind === undefined || doc.value !== value
        ? `document ${doc.document} of ${doc.source}`
        : namespace === undefined
          ? `${kind}/${name}`
          : `${kind}/${namespace}/${name}`;
    names.push(id);
    if (!order.has(id)) order.set(id, index);
    if (apiVersion === undefined || kind === undefined || doc.value !== value) {
      review.add('schema', id, '', 'not a Kubernetes object: a mapping with string apiVersion and kind is expected', 'Give the document apiVersion and kind, or remove it.');
      continue;
    }
    const item: Item = { value, apiVersion, kind, name, namespace, id, order: index };
    review.items.push(item);
    const template = podTemplateOf(item);
    if (template !== undefined) review.templates.push(template);
  }

  for (const item of review.items) await schemaRules(review, item);
  duplicateRule(review);
  for (const template of review.templates) {
    containerRules(review, template);
    podRules(review, template);
  }
  antiAffinityRule(review);
  serviceRules(review);
  statefulSetRule(review);
  pdbRule(review);
  hpaRules(review);

  const rank: Record<ReviewSeverity, number> = { error: 0, warning: 1, info: 2 };
  const findings = review.findings
    .map((finding, position) => ({ finding, position }))
    .sort(
      (a, b) =>
        rank[a.finding.severity] - rank[b.finding.severity] ||
        (order.get(a.finding.object) ?? 0) - (order.get(b.finding.object) ?? 0) ||
        a.position - b.position,
    )
    .map(({ finding }) => finding);
  return { findings, objects: documents.length, names };
}

async function schemaRules(review: Review, item: Item): Promise<void> {
  const check = await checkSchema(item.value);
  if (check.unchecked !== undefined) {
    if (builtInApiVersion(item.apiVersion)) {
      review.add('unknown-kind', item.id, 'kind', `Kubernetes has no ${item.kind} in ${item.apiVersion}`, 'Correct the kind or apiVersion (kubectl api-resources lists what a cluster serves).');
    } else {
      review.add('not-validated', item.id, '', `${item.kind} (${item.apiVersion}) is a custom resource; its fields were not checked`, 'Check it against its CRD (kubectl apply --dry-run=server) in a cluster that has the CRD.');
    }
    return;
  }
  for (const error of check.errors) {
    const path = formatPath(error.path);
    const allowed = error.allowedValues === undefined ? '' : ` (${error.allowedValues.map((v) => JSON.stringify(v)).join(', ')})`;
    review.add('schema', item.id, path, `${path || item.kind} ${error.message}${allowed}`, `Fix the value to match the ${item.kind} schema (kubectl explain ${item.kind.toLowerCase()}${path ? `.${path.replace(/\[[0-9]+\]/g, '')}` : ''}).`);
  }
  for (const field of check.unknownFields) {
    const path = formatPath(field.path);
    const name = field.path[field.path.length - 1];
    review.add(
      'unknown-field',
      item.id,
      path,
      `${path} is not a field of ${item.kind}: the API server drops it, or rejects the object under strict field validation`,
      field.suggestion === undefined ? `Remove ${String(name)}, or correct its name.` : `Did you mean ${field.suggestion}? Rename ${String(name)} to ${field.suggestion}.`,
    );
  }
}

function duplicateRule(review: Review): void {
  const seen = new Set<string>();
  for (const item of review.items) {
    const group = item.apiVersion.includes('/') ? item.apiVersion.slice(0, item.apiVersion.indexOf('/')) : '';
    const key = `${group}/${item.id}`;
    if (seen.has(key)) {
      review.add('duplicate-object', item.id, 'metadata.name', `${item.id} appears more than once; the later one overwrites the earlier on apply`, 'Keep one definition, or give them different names.');
    }
    seen.add(key);
  }
}
