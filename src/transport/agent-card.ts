import { createHash } from 'node:crypto';
import type { SecurityDeclaration } from '../auth/authenticator.js';
import type { SkillDescriptor } from '../skills/skill.js';
import { RESUME_EXTENSION_URI } from '../protocol/resume.js';

export interface AgentCardInput {
  name: string;
  description: string;
  version: string;
  /** Base URL clients reach this agent at; JSON-RPC is served at its root, and the HTTP+JSON routes under it. */
  url: string;
  /** Where the gRPC service answers (`host:port`, a gRPC target), when it is served. */
  grpcUrl?: string;
  skills: readonly SkillDescriptor[];
  /** How callers authenticate; empty or absent: the agent is open and the card says nothing. */
  security?: readonly SecurityDeclaration[];
  /** Whether GetExtendedAgentCard serves a card (it does whenever authentication is on). */
  extendedCard?: boolean;
  /** Scopes that unlock a restricted skill, declared on the skill (an empty list: none to declare). */
  skillScopes?: (skillId: string) => readonly string[];
  /** Whether the push-config methods and inline configs are served (PUSH_NOTIFICATIONS). */
  pushNotifications?: boolean;
}

const INPUT_MODES = ['text/plain', 'application/json', 'application/octet-stream'];
const OUTPUT_MODES = ['text/plain', 'application/json'];
const PROVIDER = { organization: 'kagent', url: 'https://kagent.dev' };

/**
 * Streams that resume (protocol/resume.ts): optional, a client that knows nothing of it streams as usual.
 * `required` is left out rather than false: in the proto it is a plain bool, whose default a
 * signature's verifier drops before canonicalizing (A2A 1.0 §8.4.1), so a `false` here would
 * make our card signature fail to verify.
 */
const RESUME_EXTENSION = {
  uri: RESUME_EXTENSION_URI,
  description:
    'Every stream event carries an SSE id (the task version). Reconnect with SubscribeToTask (tasks/resubscribe, /tasks/{id}:subscribe) and the last id in the Last-Event-ID header, the lastEventId query parameter or params.metadata.lastEventId (over gRPC: last-event-id request metadata): the events missed are replayed, then live ones follow.',
};

function skillEntry(skill: SkillDescriptor, security?: Record<string, unknown>): Record<string, unknown> {
  return {
    id: skill.id,
    name: skill.name,
    description: skill.description,
    tags: skill.tags,
    ...(skill.examples ? { examples: skill.examples } : {}),
    ...(skill.inputModes ? { inputModes: skill.inputModes } : {}),
    ...(skill.outputModes ? { outputModes: skill.outputModes } : {}),
    ...(security ?? {}),
  };
}

/** The bearer scheme's name on the card, when there is one: scopes ride on it. */
function bearerScheme(input: AgentCardInput): string | undefined {
  return input.security?.find((scheme) => scheme.type === 'http')?.name;
}

/** 1.0 (a2a.proto): a oneof per scheme, and requirements as `{schemes: {name: {list: scopes}}}`; any one requirement suffices. */
function securityV1(input: AgentCardInput): Record<string, unknown> {
  const schemes = input.security ?? [];
  if (schemes.length === 0) return {};
  const securitySchemes: Record<string, unknown> = {};
  for (const scheme of schemes) {
    switch (scheme.type) {
      case 'apiKey':
        securitySchemes[scheme.name] = { apiKeySecurityScheme: { description: scheme.description, location: 'header', name: scheme.header } };
        break;
      case 'http':
        securitySchemes[scheme.name] = {
          httpAuthSecurityScheme: { description: scheme.description, scheme: scheme.scheme, ...(scheme.bearerFormat ? { bearerFormat: scheme.bearerFormat } : {}) },
        };
        break;
      case 'mtls':
        securitySchemes[scheme.name] = { mtlsSecurityScheme: { description: scheme.description } };
        break;
    }
  }
  return { securitySchemes, securityRequirements: schemes.map((scheme) => ({ schemes: { [scheme.name]: { list: [] } } })) };
}

/** 0.3 (OpenAPI-style): `type`/`in`/`scheme`, and `security` as `[{name: scopes}]`. */
function securityV03(input: AgentCardInput): Record<string, unknown> {
  const schemes = input.security ?? [];
  if (schemes.length === 0) return {};
  const securitySchemes: Record<string, unknown> = {};
  for (const scheme of schemes) {
    switch (scheme.type) {
      case 'apiKey':
        securitySchemes[scheme.name] = { type: 'apiKey', in: 'header', name: scheme.header, description: scheme.description };
        break;
      case 'http':
        securitySchemes[scheme.name] = { type: 'http', scheme: 'bearer', ...(scheme.bearerFormat ? { bearerFormat: scheme.bearerFormat } : {}), description: scheme.description };
        break;
      case 'mtls':
        securitySchemes[scheme.name] = { type: 'mutualTLS', description: scheme.description };
        break;
    }
  }
  return { securitySchemes, security: schemes.map((scheme) => ({ [scheme.name]: [] })) };
}

function skillScopes(input: AgentCardInput, skill: SkillDescriptor): readonly string[] {
  return bearerScheme(input) === undefined ? [] : (input.skillScopes?.(skill.id) ?? []);
}

function skillSecurityV1(input: AgentCardInput, skill: SkillDescriptor): Record<string, unknown> | undefined {
  const scopes = skillScopes(input, skill);
  if (scopes.length === 0) return undefined;
  const bearer = bearerScheme(input)!;
  return { securityRequirements: scopes.map((scope) => ({ schemes: { [bearer]: { list: [scope] } } })) };
}

function skillSecurityV03(input: AgentCardInput, skill: SkillDescriptor): Record<string, unknown> | undefined {
  const scopes = skillScopes(input, skill);
  if (scopes.length === 0) return undefined;
  const bearer = bearerScheme(input)!;
  return { security: scopes.map((scope) => ({ [bearer]: [scope] })) };
}

/** The A2A 1.0 agent card, served at /.well-known/agent-card.json. */
export function agentCardV1(input: AgentCardInput): Record<string, unknown> {
  return {
    name: input.name,
    description: input.description,
    version: input.version,
    supportedInterfaces: [
      { url: input.url, protocolBinding: 'JSONRPC', protocolVersion: '1.0' },
      { url: input.url, protocolBinding: 'JSONRPC', protocolVersion: '0.3' },
      // The HTTP+JSON routes (/message:send, /tasks/{id} …) at the same root: A2A 1.0 only.
      { url: input.url, protocolBinding: 'HTTP+JSON', protocolVersion: '1.0' },
      ...(input.grpcUrl === undefined ? [] : [{ url: input.grpcUrl, protocolBinding: 'GRPC', protocolVersion: '1.0' }]),
    ],
    provider: PROVIDER,
    capabilities: { streaming: true, pushNotifications: input.pushNotifications ?? false, extendedAgentCard: input.extendedCard ?? false, extensions: [RESUME_EXTENSION] },
    ...securityV1(input),
    defaultInputModes: INPUT_MODES,
    defaultOutputModes: OUTPUT_MODES,
    skills: input.skills.map((skill) => skillEntry(skill, skillSecurityV1(input, skill))),
  };
}

/**
 * The card at /.well-known/agent.json, the path 0.2/0.3-era clients (and
 * VAPORA) read: the A2A 0.3 shape (`url`, `protocolVersion`,
 * `preferredTransport`, no `supportedInterfaces`), so a client that reads it
 * speaks 0.3 to us rather than guessing from 1.0 fields it does not know.
 */
export function agentCardV03(input: AgentCardInput): Record<string, unknown> {
  return {
    protocolVersion: '0.3.0',
    name: input.name,
    description: input.description,
    url: input.url,
    preferredTransport: 'JSONRPC',
    additionalInterfaces: [{ url: input.url, transport: 'JSONRPC' }],
    version: input.version,
    provider: PROVIDER,
    capabilities: { streaming: true, pushNotifications: input.pushNotifications ?? false, stateTransitionHistory: false, extensions: [RESUME_EXTENSION] },
    ...securityV03(input),
    defaultInputModes: INPUT_MODES,
    defaultOutputModes: OUTPUT_MODES,
    skills: input.skills.map((skill) => skillEntry(skill, skillSecurityV03(input, skill))),
    supportsAuthenticatedExtendedCard: input.extendedCard ?? false,
  };
}

/** A card serialized once, with its validator for conditional requests. */
export interface CachedDocument {
  body: string;
  etag: string;
  /** HTTP date the content was built. */
  lastModified: string;
}

export function cachedDocument(value: unknown): CachedDocument {
  const body = JSON.stringify(value);
  return {
    body,
    etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`,
    lastModified: new Date().toUTCString(),
  };
}
