// What a request to review manifests carries, read from its parts: YAML or
// JSON text, files, data parts, paths of Kustomize directories, a node count.
// Nothing is parsed here: text is handed to the reviewer, which parses it off
// the event loop.
import type { JsonValue, Message, Part } from '../../model/model.js';
import { textHasManifests, textMeansManifests } from './parse.js';
import type { ReviewInput } from './review-job.js';

export interface ReviewRequest {
  /** What to parse and review, in order. */
  inputs: ReviewInput[];
  /** Paths the caller asked to read from the agent's filesystem. */
  paths: string[];
  nodeCount?: number;
  /** Parts that were not read, and why. */
  skipped: string[];
}

/** The request cannot be served as sent; the message says what is wrong with it. */
export class BadRequest extends Error {}

const YAML_TYPES = new Set(['application/yaml', 'application/x-yaml', 'text/yaml', 'text/x-yaml', 'application/json', 'text/json']);
const MANIFEST_FILE = /\.(ya?ml|json)$/i;

/** Is this part's content declared to be YAML or JSON (by media type or file name)? */
function declaredManifest(part: Part): boolean {
  const type = (part.mediaType ?? '').split(';')[0]!.trim().toLowerCase();
  return YAML_TYPES.has(type) || type.endsWith('+yaml') || type.endsWith('+json') || MANIFEST_FILE.test(part.filename ?? '');
}

function decode(bytes: string): string {
  return Buffer.from(bytes, 'base64').toString('utf8').replace(/^\uFEFF/, '');
}

/** A text that is nothing but a filesystem path: one line, no spaces, with a slash. */
export function looksLikePath(text: string): boolean {
  const trimmed = text.trim();
  return /^[^\s:*?"<>|{}[\]]+$/.test(trimmed) && trimmed.includes('/') && !/^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed);
}

function nodeCountOf(value: JsonValue | undefined, where: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  const number = typeof value === 'string' && /^[0-9]+$/.test(value.trim()) ? Number(value) : value;
  if (typeof number !== 'number' || !Number.isInteger(number) || number < 1) {
    throw new BadRequest(`${where} must be a positive whole number of nodes, got ${JSON.stringify(value)}`);
  }
  return number;
}

/** Reads the parts of a message; throws BadRequest for a part that cannot be what it claims. */
export function readRequest(message: Message): ReviewRequest {
  const request: ReviewRequest = { inputs: [], paths: [], skipped: [] };
  message.parts.forEach((part, i) => {
    const label = message.parts.length === 1 ? 'the message' : `part ${i + 1}`;
    switch (part.kind) {
      case 'text': {
        const source = part.filename ?? (message.parts.length === 1 ? 'message text' : `message text (part ${i + 1})`);
        if (declaredManifest(part) || textMeansManifests(part.text)) request.inputs.push({ kind: 'text', text: part.text, source });
        else if (looksLikePath(part.text)) request.paths.push(part.text.trim());
        else if (mentionsManifests(part.text)) request.inputs.push({ kind: 'text', text: part.text, source, unlessNot: `${label}: text that is neither manifests nor a path` });
        else request.skipped.push(`${label}: text that is neither manifests nor a path`);
        break;
      }
      case 'bytes': {
        const source = part.filename ?? `file (part ${i + 1})`;
        const text = decode(part.bytes);
        const skip = `${source}: not YAML or JSON (${part.mediaType ?? 'no media type'})`;
        if (declaredManifest(part)) request.inputs.push({ kind: 'text', text, source });
        else if (mentionsManifests(text)) request.inputs.push({ kind: 'text', text, source, unlessNot: skip });
        else request.skipped.push(skip);
        break;
      }
      case 'url':
        request.skipped.push(`${part.filename ?? part.url}: files are not fetched from URLs; send the content inline`);
        break;
      case 'data': {
        const data = part.data;
        if (Array.isArray(data)) {
          request.inputs.push({ kind: 'values', values: data, source: `data (part ${i + 1})` });
          break;
        }
        if (data === null || typeof data !== 'object') {
          request.skipped.push(`${label}: data that is not an object`);
          break;
        }
        const field = (name: string) => (message.parts.length === 1 ? `data.${name}` : `parts[${i}].data.${name}`);
        let used = false;
        if (typeof data.apiVersion === 'string' && typeof data.kind === 'string') {
          request.inputs.push({ kind: 'values', values: data, source: `data (part ${i + 1})` });
          used = true;
        }
        if (data.manifests !== undefined) {
          const manifests = data.manifests;
          if (typeof manifests === 'string') request.inputs.push({ kind: 'text', text: manifests, source: field('manifests') });
          else if (manifests !== null && typeof manifests === 'object') request.inputs.push({ kind: 'values', values: manifests, source: field('manifests') });
          else throw new BadRequest(`${field('manifests')} must be YAML/JSON text or a list of objects`);
          used = true;
        }
        if (data.path !== undefined) {
          if (typeof data.path !== 'string' || data.path.trim() === '') throw new BadRequest(`${field('path')} must be the path of a Kustomize directory`);
          request.paths.push(data.path.trim());
          used = true;
        }
        if (data.nodeCount !== undefined) {
          request.nodeCount = nodeCountOf(data.nodeCount, field('nodeCount'));
          used = true;
        }
        if (!used) request.skipped.push(`${label}: data without manifests, path or nodeCount`);
        break;
      }
    }
  });
  if (request.nodeCount === undefined) {
    const stated = nodeCountOf(message.metadata?.nodeCount, 'metadata.nodeCount');
    if (stated !== undefined) request.nodeCount = stated;
  }
  return request;
}

/** Text that names apiVersion and kind: manifests, if it parses into objects that have them (the reviewer finds out). */
function mentionsManifests(text: string): boolean {
  return /\bapiVersion\b/.test(text) && /\bkind\b/.test(text);
}

/** Above this, routing goes by how a text looks; parsing it on the event loop would stall every other request. */
const ROUTING_PARSE_LIMIT = 64 * 1024;

/** Routing's question about one text: small ones are parsed, large ones judged by their apiVersion/kind lines. */
function routesAsManifests(text: string): boolean {
  if (text.length <= ROUTING_PARSE_LIMIT) return textHasManifests(text);
  return mentionsManifests(text) && textMeansManifests(text);
}

/**
 * Does a message carry Kubernetes manifests: a text or file part that parses
 * as YAML documents with apiVersion and kind (or, when large, has lines that
 * start with them), or a data part with `manifests`? For routing messages to
 * manifest-review by content.
 */
export function looksLikeManifests(message: Message): boolean {
  return message.parts.some((part) => {
    switch (part.kind) {
      case 'text':
        return routesAsManifests(part.text);
      case 'bytes':
        return part.bytes.length <= 8 * 1024 * 1024 && routesAsManifests(decode(part.bytes));
      case 'data':
        return part.data !== null && typeof part.data === 'object' && !Array.isArray(part.data) && part.data.manifests !== undefined;
      default:
        return false;
    }
  });
}
