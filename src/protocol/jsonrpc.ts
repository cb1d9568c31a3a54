import { InvalidParamsError } from '../model/errors.js';
import { protocolErrors } from './errors.js';

export type JsonRpcId = string | number | null;

export interface JsonRpcRequest {
  id: JsonRpcId;
  method: string;
  params: unknown;
}

/** Parses and checks the JSON-RPC 2.0 envelope; params are left to the method's codec. */
export function parseJsonRpcRequest(body: string): JsonRpcRequest {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (error) {
    throw protocolErrors.parse(error instanceof Error ? error.message : 'unparseable');
  }
  if (Array.isArray(value)) throw protocolErrors.invalidRequest('batch requests are not supported; send one request per call');
  if (typeof value !== 'object' || value === null) throw protocolErrors.invalidRequest('the body must be a JSON-RPC request object');
  const request = value as Record<string, unknown>;
  if (request.jsonrpc !== '2.0') throw protocolErrors.invalidRequest('"jsonrpc" must be "2.0"');
  if (typeof request.method !== 'string' || request.method === '') throw protocolErrors.invalidRequest('"method" must be a non-empty string');
  // A request without an id is a JSON-RPC notification, which expects no answer; every A2A
  // method answers (a result or a stream), so A2A has no notifications: refuse it, and say why.
  if (!Object.hasOwn(request, 'id')) {
    throw protocolErrors.invalidRequest('"id" is missing; every A2A method is a request that is answered, so send an "id" (A2A has no notifications)');
  }
  const id = request.id;
  if (!(typeof id === 'string' || (typeof id === 'number' && Number.isFinite(id)) || id === null)) {
    throw protocolErrors.invalidRequest('"id" must be a string, a number or null');
  }
  if (request.params !== undefined && (typeof request.params !== 'object' || request.params === null)) {
    throw protocolErrors.invalidRequest('"params" must be an object');
  }
  // Well-formed JSON-RPC (by-position params), but A2A methods take named params only: a bad argument, not a bad request.
  if (Array.isArray(request.params)) throw new InvalidParamsError('params must be an object of named parameters, not an array', 'params');
  return { id, method: request.method, params: request.params };
}

/** The id to answer with when the request could not be fully parsed. */
export function salvageId(body: string): JsonRpcId {
  try {
    const value: unknown = JSON.parse(body);
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
      const id = (value as Record<string, unknown>).id;
      if (typeof id === 'string' || typeof id === 'number') return id;
    }
  } catch {
    // unparseable: no id to salvage
  }
  return null;
}

export function requestEnvelope(id: JsonRpcId, method: string, params: unknown): string {
  return JSON.stringify({ jsonrpc: '2.0', id, method, params });
}

export function resultEnvelope(id: JsonRpcId, result: unknown): string {
  return JSON.stringify({ jsonrpc: '2.0', id, result });
}

export function errorEnvelope(id: JsonRpcId, error: { code: number; message: string; data?: unknown }): string {
  return JSON.stringify({ jsonrpc: '2.0', id, error });
}
