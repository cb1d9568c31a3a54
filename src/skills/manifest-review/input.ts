// What a request to review manifests carries, read from its parts: YAML or
// JSON text, files, data parts, paths of Kustomize directories, a node count.
import type { JsonValue, Message, Part } from '../../model/model.js';
import { manifestValues, parseManifestText, textHasManifests, textMeansManifests } from './parse.js';
import type { ManifestDocument } from './parse.js';

export interface ReviewRequest {
  documents: ManifestDocument[];
  /** Labels of what was read ("message text", "deploy.yaml"). */
  sources: string[];
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

/** Reads the parts of a message; throws BadRequest, or ManifestParseError for text that does not parse. */
export function readRequest(message: Message): ReviewRequest {
  const request: ReviewRequest = { documents: [], sources: [], paths: [], skipped: [] };
  const add = (documents: ManifestDocument[], source: string) => {
    request.documents.push(...documents);
    request.sources.push(source);
  };
  message.parts.forEach((part, i) => {
    const label = message.parts.length === 1 ? 'the message' : `part ${i + 1}`;
    switch (part.kind) {
      case 'text': {
        const source = part.filename ?? (message.parts.length === 1 ? 'message text' : `message text (part ${i + 1})`);
        if (declaredManifest(part) || textMeansManifests(part.text) || textHasManifests(part.text)) add(parseManifestText(part.text, source), source);
        else if (looksLikePath(part.text)) request.paths.push(part.text.trim());
        else request.skipped.push(`${label}: text that is neither manifests nor a path`);
        break;
      }
      case 'bytes': {
        const source = part.filename ?? `file (part ${i + 1})`;
        const text = decode(part.bytes);
        if (declaredManifest(part) || textHasManifests(text)) add(parseManifestText(text, source), source);
        else request.skipped.push(`${source}: not YAML or JSON (${part.mediaType ?? 'no media type'})`);
        break;
      }
      case 'url':
        request.skipped.push(`${part.filename ?? part.url}: files are not fetched from URLs; send the content inline`);
        break;
      case 'data': {
        const data = part.data;
        if (Array.isArray(data)) {
          add(manifestValues(data, `data (part ${i + 1})`), `data (part ${i + 1})`);
          break;
        }
        if (data === null || typeof data !== 'object') {
          request.skipped.push(`${label}: data that is not an object`);
          break;
        }
        const field = (name: string) => (message.parts.length === 1 ? `data.${name}` : `parts[${i}].data.${name}`);
        let used = false;
        if (typeof data.apiVersion === 'string' && typeof data.kind === 'string') {
          add(manifestValues(data, `data (part ${i + 1})`), `data (part ${i + 1})`);
          used = true;
        }
        if (data.manifests !== undefined) {
          const manifests = data.manifests;
          if (typeof manifests === 'string') add(parseManifestText(manifests, field('manifests')), field('manifests'));
          else if (manifests !== null && typeof manifests === 'object') add(manifestValues(manifests, field('manifests')), field('manifests'));
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

/**
 * Does a message carry Kubernetes manifests: a text or file part that parses
 * as YAML documents with apiVersion and kind, or a data part with `manifests`?
 * For routing messages to manifest-review by content.
 */
export function looksLikeManifests(message: Message): boolean {
  return message.parts.some((part) => {
    switch (part.kind) {
      case 'text':
        return textHasManifests(part.text);
      case 'bytes':
        return part.bytes.length <= 8 * 1024 * 1024 && textHasManifests(decode(part.bytes));
      case 'data':
        return part.data !== null && typeof part.data === 'object' && !Array.isArray(part.data) && part.data.manifests !== undefined;
      default:
        return false;
    }
  });
}
