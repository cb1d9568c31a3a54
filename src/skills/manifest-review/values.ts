// Reading values out of untyped manifest objects: records, lists, label
// selectors, quantities, image references and field paths, as the rules need them.
import type { Segment } from './schema.js';

export type Obj = Record<string, unknown>;
export const rec = (value: unknown): Obj => (value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Obj) : {});
export const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);
export const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
export const int = (value: unknown): number | undefined => (typeof value === 'number' && Number.isInteger(value) ? value : undefined);
export const labelsOf = (value: unknown): Record<string, string> => {
  const labels: Record<string, string> = {};
  for (const [key, v] of Object.entries(rec(value))) if (typeof v === 'string') labels[key] = v;
  return labels;
};

/** spec.template.spec.containers[0] from segments. */
export function formatPath(segments: readonly Segment[]): string {
  let out = '';
  for (const segment of segments) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (/^[A-Za-z_$][\w$-]*$/.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

/** Does a label selector ({matchLabels, matchExpressions}) select these labels? An empty selector selects nothing here. */
export function selects(selector: unknown, labels: Record<string, string>): boolean {
  const sel = rec(selector);
  const matchLabels = labelsOf(sel.matchLabels);
  const expressions = list(sel.matchExpressions).map(rec);
  if (Object.keys(matchLabels).length === 0 && expressions.length === 0) return false;
  for (const [key, value] of Object.entries(matchLabels)) if (labels[key] !== value) return false;
  for (const expression of expressions) {
    const key = str(expression.key) ?? '';
    const values = list(expression.values).filter((v): v is string => typeof v === 'string');
    const present = Object.hasOwn(labels, key);
    switch (expression.operator) {
      case 'In':
        if (!present || !values.includes(labels[key]!)) return false;
        break;
      case 'NotIn':
        if (present && values.includes(labels[key]!)) return false;
        break;
      case 'Exists':
        if (!present) return false;
        break;
      case 'DoesNotExist':
        if (present) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

export function isEmptySelector(selector: unknown): boolean {
  const sel = rec(selector);
  return Object.keys(rec(sel.matchLabels)).length === 0 && list(sel.matchExpressions).length === 0;
}

/** A Service's selector (a plain label map) selects labels when every pair is present. */
export function mapSelects(selector: Record<string, string>, labels: Record<string, string>): boolean {
  return Object.entries(selector).every(([key, value]) => labels[key] === value);
}

const QUANTITY_SUFFIX: Readonly<Record<string, number>> = {
  '': 1,
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

/** A Kubernetes quantity ("500m", "2", "1Gi", "1e3", 3) as a number of base units. */
export function quantity(value: string | number | undefined): number {
  if (value === undefined) throw new Error('missing quantity');
  if (typeof value === 'number') return value;
  const match = /^([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))(?:([eE][+-]?[0-9]+)|(n|u|m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei))?$/.exec(value.trim());
  if (match === null) throw new Error(`not a quantity: ${value}`);
  const base = Number(match[1]);
  if (match[2] !== undefined) return base * 10 ** Number(match[2].slice(1));
  return base * QUANTITY_SUFFIX[match[3] ?? '']!;
}

export function tryQuantity(value: unknown): number | undefined {
  if (typeof value !== 'string' && typeof value !== 'number') return undefined;
  try {
    return quantity(value);
  } catch {
    return undefined;
  }
}

/** The tag and digest of an image reference. */
export function imageParts(image: string): { tag?: string; digest?: string } {
  const at = image.indexOf('@');
  const digest = at === -1 ? undefined : image.slice(at + 1);
  const name = at === -1 ? image : image.slice(0, at);
  const last = name.slice(name.lastIndexOf('/') + 1);
  const colon = last.indexOf(':');
  const tag = colon === -1 ? undefined : last.slice(colon + 1);
  return { ...(tag === undefined || tag === '' ? {} : { tag }), ...(digest === undefined || digest === '' ? {} : { digest }) };
}

/** An int-or-percent ("25%", 2) scaled to a number of pods, rounding up as the disruption controller does. */
export function scaled(value: unknown, total: number): number | undefined {
  if (typeof value === 'number' && Number.isInteger(value)) return value;
  if (typeof value === 'string') {
    const match = /^([0-9]+)%$/.exec(value);
    if (match !== null) return Math.ceil((Number(match[1]) * total) / 100);
  }
  return undefined;
}

export function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}
