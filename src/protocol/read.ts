import { InvalidParamsError } from '../model/errors.js';
import type { JsonObject, JsonValue } from '../model/model.js';

// Field readers for decoding wire input. Each takes the value and its path in
// the request, and either returns the typed value or throws InvalidParamsError
// naming the path, so every decoder reports "params.message.parts[2].text".

export type Obj = Record<string, unknown>;

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

export function fail(path: string, expected: string, value: unknown): never {
  throw new InvalidParamsError(`${path} must be ${expected}, got ${value === undefined ? 'nothing' : typeName(value)}`, path);
}

export function object(value: unknown, path: string): Obj {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(path, 'an object', value);
  return value as Obj;
}

export function optionalObject(value: unknown, path: string): Obj | undefined {
  return value === undefined || value === null ? undefined : object(value, path);
}

export function string(value: unknown, path: string): string {
  if (typeof value !== 'string') fail(path, 'a string', value);
  return value;
}

export function nonEmptyString(value: unknown, path: string): string {
  const s = string(value, path);
  if (s.length === 0) throw new InvalidParamsError(`${path} must not be empty`, path);
  return s;
}

export function optionalString(value: unknown, path: string): string | undefined {
  return value === undefined || value === null ? undefined : string(value, path);
}

export function optionalBoolean(value: unknown, path: string): boolean | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') fail(path, 'a boolean', value);
  return value;
}

export function optionalInteger(value: unknown, path: string, min: number, max: number): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value)) fail(path, 'an integer', value);
  if (value < min || value > max) throw new InvalidParamsError(`${path} must be between ${min} and ${max}, got ${value}`, path);
  return value;
}

export function array(value: unknown, path: string): unknown[] {
  if (!Array.isArray(value)) fail(path, 'an array', value);
  return value;
}

export function optionalStringArray(value: unknown, path: string): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  return array(value, path).map((item, i) => string(item, `${path}[${i}]`));
}

/** A Struct-like map of arbitrary JSON (metadata); kept as the caller sent it. */
export function optionalJsonObject(value: unknown, path: string): JsonObject | undefined {
  if (value === undefined || value === null) return undefined;
  return object(value, path) as JsonObject;
}

export function json(value: unknown): JsonValue {
  return value as JsonValue;
}

/** Standard base64 (as ProtoJSON writes bytes) or its URL-safe variant. */
export function base64(value: unknown, path: string): string {
  const s = string(value, path);
  const unpadded = s.replace(/=+$/, '');
  const padding = s.length - unpadded.length;
  // The alphabet alone is not enough: a length no encoder produces ("A", "abcde") is not base64 either.
  const wellFormed =
    /^[A-Za-z0-9+/_-]*={0,2}$/.test(s) && unpadded.length % 4 !== 1 && (padding === 0 || s.length % 4 === 0);
  if (!wellFormed) throw new InvalidParamsError(`${path} must be base64-encoded bytes`, path);
  return s;
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/** Protocol timestamps are ISO 8601 instants (RFC 3339), in UTC or with an offset. */
export function optionalTimestamp(value: unknown, path: string): number | undefined {
  const s = optionalString(value, path);
  if (s === undefined) return undefined;
  // An instant, never a local time: Date.parse alone would read "2025-01-01T00:00" in the server's zone.
  const ms = RFC3339.test(s) ? Date.parse(s) : Number.NaN;
  if (Number.isNaN(ms)) throw new InvalidParamsError(`${path} must be an RFC 3339 timestamp such as 2025-10-28T10:30:00.000Z, got "${s}"`, path);
  return ms;
}

/**
 * An object of a protobuf-defined message. ProtoJSON parsers accept a field's
 * original snake_case name as well as its camelCase JSON name, and so do we
 * (some clients send `history_length`); the camelCase spelling wins if both appear.
 */
export function protoObject(value: unknown, path: string): Obj {
  const o = object(value, path);
  let normalized: Obj | undefined;
  for (const key of Object.keys(o)) {
    if (!key.includes('_')) continue;
    normalized ??= { ...o };
    const camel = key.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
    if (normalized[camel] === undefined) normalized[camel] = o[key];
  }
  return normalized ?? o;
}

export function optionalProtoObject(value: unknown, path: string): Obj | undefined {
  return value === undefined || value === null ? undefined : protoObject(value, path);
}
