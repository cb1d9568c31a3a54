import { InvalidParamsError } from '../model/errors.js';
import type { JsonObject, JsonValue } from '../model/model.js';
import { trimEndChars } from '../model/text.js';

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

const DECIMAL_INTEGER = /^-?\d{1,16}$/;

/**
 * An int32/int64 field of a protobuf-defined message: ProtoJSON writers may
 * send it as a JSON number or as a decimal string ("3"), and parsers take both.
 */
export function optionalProtoInteger(value: unknown, path: string, min: number, max: number): number | undefined {
  if (typeof value === 'string') {
    if (!DECIMAL_INTEGER.test(value)) fail(path, 'an integer (a number or a decimal string)', value);
    return optionalInteger(Number(value), path, min, max);
  }
  return optionalInteger(value, path, min, max);
}

/**
 * A protobuf enum field: ProtoJSON names its value ("TASK_STATE_COMPLETED")
 * but parsers also take the value's number (3). `numbers` lists the names by
 * their number in the .proto. Undefined for an absent field.
 */
export function optionalProtoEnum(value: unknown, path: string, numbers: readonly string[]): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'number') {
    const name = Number.isInteger(value) ? numbers[value] : undefined;
    if (name === undefined) {
      throw new InvalidParamsError(`${path} must be an enum value between 0 and ${numbers.length - 1} or its name, got ${value}`, path);
    }
    return name;
  }
  if (typeof value !== 'string') fail(path, 'an enum name or number', value);
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

const BASE64_ALPHABET = /^[A-Za-z0-9+/_-]*$/;

/** Standard base64 (as ProtoJSON writes bytes) or its URL-safe variant, padded or not; returned in the standard padded form. */
export function base64(value: unknown, path: string): string {
  const s = string(value, path);
  const unpadded = trimEndChars(s, '=');
  const padding = s.length - unpadded.length;
  // The alphabet alone is not enough: a length no encoder produces ("A", "abcde") is not base64 either.
  const wellFormed =
    padding <= 2 && BASE64_ALPHABET.test(unpadded) && unpadded.length % 4 !== 1 && (padding === 0 || s.length % 4 === 0);
  if (!wellFormed) throw new InvalidParamsError(`${path} must be base64-encoded bytes`, path);
  // Kept, and so echoed, as standard padded base64 whichever variant came in: that is what ProtoJSON writes.
  return Buffer.from(s, 'base64').toString('base64');
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

/**
 * The deepest nesting of objects and arrays a request may carry. JSON.parse
 * takes any depth, but what walks the value afterwards (hashing, storing,
 * encoding) recurses, and a few thousand levels overflow the stack.
 */
export const MAX_NESTING_DEPTH = 100;

/** Throws InvalidParamsError naming the first place where `value` nests deeper than `maxDepth`; walks without recursion. */
export function checkNesting(value: unknown, path: string, maxDepth = MAX_NESTING_DEPTH): void {
  if (!isContainer(value)) return;
  // Depth first, one level per open container: memory grows with the depth, never with the breadth.
  interface Level {
    value: object;
    keys: string[] | undefined;
    next: number;
    key: string | number;
  }
  const level = (container: object, key: string | number): Level => ({
    value: container,
    keys: Array.isArray(container) ? undefined : Object.keys(container),
    next: 0,
    key,
  });
  const stack: Level[] = [level(value, path)];
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    const size = top.keys === undefined ? (top.value as unknown[]).length : top.keys.length;
    if (top.next >= size) {
      stack.pop();
      continue;
    }
    const key = top.keys === undefined ? top.next : top.keys[top.next]!;
    top.next++;
    const child: unknown = typeof key === 'number' ? (top.value as unknown[])[key] : (top.value as Obj)[key];
    if (!isContainer(child)) continue;
    if (stack.length >= maxDepth) {
      const where = nestingPath([...stack.map((l) => l.key), key]);
      throw new InvalidParamsError(`${where} nests objects and arrays deeper than ${maxDepth} levels, the most this agent accepts`, where);
    }
    stack.push(level(child, key));
  }
}

function isContainer(value: unknown): value is object {
  return typeof value === 'object' && value !== null;
}

/** "params.message.metadata.a[0].b", shortened in the middle: the path of a hostile value can be as long as the body. */
function nestingPath(keys: readonly (string | number)[]): string {
  const segment = (key: string | number, first: boolean) => {
    if (typeof key === 'number') return `[${key}]`;
    const short = key.length > 40 ? `${key.slice(0, 40)}…` : key;
    return first ? short : `.${short}`;
  };
  const segments = keys.map((key, i) => segment(key, i === 0));
  if (segments.length <= 12) return segments.join('');
  return `${segments.slice(0, 8).join('')}…${segments.slice(-3).join('')}`;
}
