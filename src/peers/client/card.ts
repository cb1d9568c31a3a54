import type { ProtocolVersion } from '../../protocol/codec.js';
import { A2AClientError } from './errors.js';

// Reading an agent card: which interfaces (binding, protocol version, URL) it
// offers, in the 1.0 shape (`supportedInterfaces`) or the 0.3 one (`url`,
// `preferredTransport`, `additionalInterfaces`, `protocolVersion`), and which
// of them this client speaks.

export type { ProtocolVersion };
export type Binding = 'JSONRPC' | 'HTTP+JSON';

/** One interface a card declares, normalized. */
export interface AgentInterface {
  url: string;
  /** As declared, upper-cased: JSONRPC, HTTP+JSON, GRPC … */
  binding: string;
  /** Major.minor ("1.0", "0.3"), or as declared when it is neither. */
  version: string;
  tenant?: string;
}

/** The interface a client talks to. */
export interface Endpoint {
  url: string;
  binding: Binding;
  version: ProtocolVersion;
  tenant?: string;
}

export interface AgentCardSummary {
  name: string;
  description: string;
  version: string;
  /** Where requests go: the endpoint chosen from the card, after the `endpoint` rule is applied. */
  url: string;
  /** That endpoint's URL as the card advertises it (resolved against where the card came from). */
  advertisedUrl: string;
  /** The protocol version and binding the client speaks to this agent. */
  protocolVersion: ProtocolVersion;
  binding: Binding;
  tenant?: string;
  /** capabilities.streaming as the card declares it. */
  streaming: boolean;
  /** Every interface the card declares, whether this client speaks it or not. */
  interfaces: AgentInterface[];
  skills: { id: string; name: string; description: string; tags: string[] }[];
  /** The card as received. */
  raw: Record<string, unknown>;
}

export interface InterfaceChoice {
  /** Speak only this version. */
  protocolVersion?: ProtocolVersion;
  /** Bindings to use, in order of preference (default JSONRPC, then HTTP+JSON). */
  bindings?: readonly Binding[];
}

/** What each supported version can be spoken over. */
const SPOKEN: Readonly<Record<ProtocolVersion, readonly Binding[]>> = {
  '1.0': ['JSONRPC', 'HTTP+JSON'],
  '0.3': ['JSONRPC'],
};
const DEFAULT_BINDINGS: readonly Binding[] = ['JSONRPC', 'HTTP+JSON'];

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function normalizeBinding(value: unknown): string {
  const binding = (text(value) ?? 'JSONRPC').toUpperCase();
  // Spellings seen in the wild for the same two bindings.
  if (binding === 'JSON-RPC' || binding === 'JSON_RPC') return 'JSONRPC';
  if (binding === 'REST' || binding === 'HTTP_JSON' || binding === 'HTTP') return 'HTTP+JSON';
  return binding;
}

/**
 * "1.0", "1.0.1" and "1" are 1.0; "0.3.x" is 0.3, and so is 0.2.x: the 0.2
 * JSON-RPC methods and shapes are the ones 0.3 kept (message/send, `kind`).
 */
export function normalizeVersion(value: unknown, fallback: string): string {
  const declared = text(value) ?? fallback;
  const match = /^(\d+)(?:\.(\d+))?(?:\.\d+)?$/.exec(declared.trim());
  if (match === null) return declared;
  const major = Number(match[1]);
  const minor = Number(match[2] ?? 0);
  if (major === 1 && minor === 0) return '1.0';
  if (major === 0 && (minor === 3 || minor === 2)) return '0.3';
  return `${major}.${minor}`;
}

/** The interfaces a card declares, in its order of preference. */
export function cardInterfaces(card: Record<string, unknown>): AgentInterface[] {
  const declared = Array.isArray(card.supportedInterfaces) ? card.supportedInterfaces : [];
  const out: AgentInterface[] = [];
  if (declared.length > 0) {
    for (const entry of declared) {
      if (typeof entry !== 'object' || entry === null) continue;
      const e = entry as Record<string, unknown>;
      const url = text(e.url);
      if (url === undefined) continue;
      const item: AgentInterface = { url, binding: normalizeBinding(e.protocolBinding), version: normalizeVersion(e.protocolVersion, '1.0') };
      const tenant = text(e.tenant);
      if (tenant !== undefined) item.tenant = tenant;
      out.push(item);
    }
    return out;
  }
  // A 0.3-era card: one main interface, more in additionalInterfaces, one version for all.
  const version = normalizeVersion(card.protocolVersion, '0.3');
  const main = text(card.url);
  if (main !== undefined) out.push({ url: main, binding: normalizeBinding(card.preferredTransport), version });
  const more = Array.isArray(card.additionalInterfaces) ? card.additionalInterfaces : [];
  for (const entry of more) {
    if (typeof entry !== 'object' || entry === null) continue;
    const e = entry as Record<string, unknown>;
    const url = text(e.url);
    if (url === undefined) continue;
    const binding = normalizeBinding(e.transport);
    if (!out.some((i) => i.url === url && i.binding === binding)) out.push({ url, binding, version });
  }
  return out;
}

/**
 * The interface to speak: the newest version this client knows (1.0 before
 * 0.3), then the preferred binding, then the card's own order.
 */
export function chooseInterface(interfaces: readonly AgentInterface[], choice: InterfaceChoice = {}): AgentInterface | undefined {
  const bindings = choice.bindings ?? DEFAULT_BINDINGS;
  const versions: ProtocolVersion[] = choice.protocolVersion === undefined ? ['1.0', '0.3'] : [choice.protocolVersion];
  for (const version of versions) {
    for (const binding of bindings) {
      if (!SPOKEN[version].includes(binding)) continue;
      const found = interfaces.find((i) => i.version === version && i.binding === binding);
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

/** The card's path and query on the caller's origin: what works behind a port-forward or proxy. */
export function onBaseOrigin(advertised: string, base: string): string {
  let path = '/';
  try {
    const parsed = new URL(advertised);
    path = parsed.pathname + parsed.search;
  } catch {
    path = advertised.startsWith('/') ? advertised : `/${advertised}`;
  }
  return new URL(path, `${base}/`).toString();
}

export type EndpointRule =
  /** Use the URL the card advertises, host and port included. */
  | 'card'
  /** Keep the card's path, but on the origin of the URL the client was given (the default when there is one). */
  | 'base';

export interface SummaryOptions extends InterfaceChoice {
  endpoint?: EndpointRule;
}

/**
 * Reads a card and picks the endpoint to talk to. Throws 'invalid-response'
 * for a card a client cannot use at all (not an object, no interface, an
 * interface URL that is not a URL) and 'unsupported' when it offers nothing
 * this client speaks.
 */
export function summarizeCard(raw: unknown, base: string | undefined, options: SummaryOptions = {}): AgentCardSummary {
  const where = base ?? 'the agent';
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new A2AClientError('invalid-response', `the agent card of ${where} is malformed: it is not a JSON object`);
  }
  const card = raw as Record<string, unknown>;
  const interfaces = cardInterfaces(card);
  if (interfaces.length === 0) {
    throw new A2AClientError('invalid-response', `the agent card of ${where} is malformed: it declares no interface (supportedInterfaces[].url, or url)`);
  }
  const chosen = chooseInterface(interfaces, options);
  if (chosen === undefined) {
    const offered = interfaces.map((i) => `${i.binding} ${i.version}`).join(', ');
    const wanted = options.protocolVersion === undefined ? '' : ` (version ${options.protocolVersion} was asked for)`;
    throw new A2AClientError('unsupported', `the agent card of ${where} offers ${offered}; this client speaks JSONRPC 1.0, HTTP+JSON 1.0 and JSONRPC 0.3${wanted}`);
  }
  // A relative interface URL is relative to where the card came from.
  const advertisedUrl = base === undefined ? chosen.url : URL.canParse(chosen.url, `${base}/`) ? new URL(chosen.url, `${base}/`).toString() : undefined;
  if (advertisedUrl === undefined || !URL.canParse(advertisedUrl)) {
    throw new A2AClientError('invalid-response', `the agent card of ${where} is malformed: its ${chosen.binding} interface URL "${chosen.url}" is not a URL`);
  }
  let url = advertisedUrl;
  if ((options.endpoint ?? (base === undefined ? 'card' : 'base')) === 'base') {
    if (base === undefined) throw new TypeError("endpoint 'base' needs the base URL the card was read from");
    url = onBaseOrigin(advertisedUrl, base);
  }
  const skills = Array.isArray(card.skills) ? (card.skills as Record<string, unknown>[]) : [];
  const capabilities = typeof card.capabilities === 'object' && card.capabilities !== null ? (card.capabilities as Record<string, unknown>) : {};
  const summary: AgentCardSummary = {
    name: String(card.name ?? ''),
    description: String(card.description ?? ''),
    version: String(card.version ?? ''),
    url,
    advertisedUrl,
    protocolVersion: chosen.version as ProtocolVersion,
    binding: chosen.binding as Binding,
    streaming: capabilities.streaming === true,
    interfaces,
    skills: skills
      .filter((s) => typeof s === 'object' && s !== null)
      .map((s) => ({
        id: String(s.id ?? ''),
        name: String(s.name ?? ''),
        description: String(s.description ?? ''),
        tags: Array.isArray(s.tags) ? s.tags.map(String) : [],
      })),
    raw: card,
  };
  if (chosen.tenant !== undefined) summary.tenant = chosen.tenant;
  return summary;
}
