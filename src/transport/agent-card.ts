import { createHash } from 'node:crypto';
import type { SkillDescriptor } from '../skills/skill.js';

export interface AgentCardInput {
  name: string;
  description: string;
  version: string;
  /** Base URL clients reach this agent at; JSON-RPC is served at its root. */
  url: string;
  skills: readonly SkillDescriptor[];
}

const INPUT_MODES = ['text/plain', 'application/json', 'application/octet-stream'];
const OUTPUT_MODES = ['text/plain', 'application/json'];
const PROVIDER = { organization: 'kagent', url: 'https://kagent.dev' };

function skillEntry(skill: SkillDescriptor): Record<string, unknown> {
  return {
    id: skill.id,
    name: skill.name,
    description: skill.description,
    tags: skill.tags,
    ...(skill.examples ? { examples: skill.examples } : {}),
    ...(skill.inputModes ? { inputModes: skill.inputModes } : {}),
    ...(skill.outputModes ? { outputModes: skill.outputModes } : {}),
  };
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
    ],
    provider: PROVIDER,
    capabilities: { streaming: true, pushNotifications: false, extendedAgentCard: false },
    defaultInputModes: INPUT_MODES,
    defaultOutputModes: OUTPUT_MODES,
    skills: input.skills.map(skillEntry),
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
    capabilities: { streaming: true, pushNotifications: false, stateTransitionHistory: false },
    defaultInputModes: INPUT_MODES,
    defaultOutputModes: OUTPUT_MODES,
    skills: input.skills.map(skillEntry),
    supportsAuthenticatedExtendedCard: false,
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
