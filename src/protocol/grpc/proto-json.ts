import protobuf from 'protobufjs';
import type { Field, Type } from 'protobufjs';

// gRPC messages are read into, and written from, their ProtoJSON form, so the
// 1.0 codec that serves JSON-RPC validates and encodes gRPC calls too: one
// decoder, one set of error paths. protobufjs gives the plain object of a
// message; only the well-known types differ from ProtoJSON there (Struct,
// Value and ListValue as their raw fields, Timestamp as seconds and nanos),
// and are converted here by walking the message's type.

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Plain = Record<string, unknown>;

/** What a message holds that is not well-formed protobuf, or not a ProtoJSON value (a timestamp that is no time). */
export class ProtoWireError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProtoWireError';
  }
}

const TO_OBJECT: protobuf.IConversionOptions = { enums: String, bytes: String, longs: String, json: true };

const STRUCT = '.google.protobuf.Struct';
const VALUE = '.google.protobuf.Value';
const LIST_VALUE = '.google.protobuf.ListValue';
const TIMESTAMP = '.google.protobuf.Timestamp';

/**
 * The ProtoJSON form of one encoded message; malformed bytes are a
 * ProtoWireError. With `emptyLists`, a repeated field the bytes lack is an
 * empty list, as proto3 means it (the wire cannot tell absent from empty): a
 * server reading a request says "must contain at least one part", not "missing".
 */
export function decodeToJson(type: Type, bytes: Uint8Array, options: { emptyLists?: boolean } = {}): Plain {
  try {
    return messageToJson(type, type.toObject(type.decode(bytes), options.emptyLists === true ? { ...TO_OBJECT, arrays: true } : TO_OBJECT));
  } catch (error) {
    if (error instanceof ProtoWireError) throw error;
    // Truncated input, a wrong wire type, or nesting deep enough to exhaust the stack.
    throw new ProtoWireError(`the ${type.name} message is not valid protobuf: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** One message encoded from its ProtoJSON form (what the codecs write); one protobuf cannot hold is a ProtoWireError. */
export function encodeFromJson(type: Type, json: unknown): Uint8Array {
  try {
    return type.encode(type.fromObject(messageFromJson(type, json as Plain))).finish();
  } catch (error) {
    if (error instanceof ProtoWireError) throw error;
    // Nesting past protobuf's 100 levels: JSON allows more (a Struct value spends two levels for each of its own).
    throw new ProtoWireError(`a ${type.name} cannot be written as protobuf: ${error instanceof Error ? error.message : String(error)}`);
  }
}

function messageToJson(type: Type, plain: Plain): Plain {
  for (const field of type.fieldsArray) {
    const value = plain[field.name];
    if (value === undefined || field.resolvedType === null || !('fieldsArray' in field.resolvedType)) continue;
    const convert = (item: unknown) => wellKnownToJson(field.resolvedType as Type, item as Plain);
    plain[field.name] = mapField(field, value, convert);
  }
  return plain;
}

function wellKnownToJson(type: Type, plain: Plain): unknown {
  switch (type.fullName) {
    case STRUCT:
      return structToJson(plain);
    case VALUE:
      return valueToJson(plain);
    case LIST_VALUE:
      return listToJson(plain);
    case TIMESTAMP:
      return timestampToJson(plain);
    default:
      return messageToJson(type, plain);
  }
}

function structToJson(plain: Plain): Record<string, Json> {
  const out: Record<string, Json> = {};
  for (const [key, value] of Object.entries((plain.fields ?? {}) as Record<string, Plain>)) out[key] = valueToJson(value);
  return out;
}

function listToJson(plain: Plain): Json[] {
  return ((plain.values ?? []) as Plain[]).map(valueToJson);
}

function valueToJson(plain: Plain): Json {
  if (plain.stringValue !== undefined) return plain.stringValue as string;
  if (plain.numberValue !== undefined) return Number(plain.numberValue);
  if (plain.boolValue !== undefined) return plain.boolValue as boolean;
  if (plain.structValue !== undefined) return structToJson(plain.structValue as Plain);
  if (plain.listValue !== undefined) return listToJson(plain.listValue as Plain);
  // nullValue, or a Value with no kind set: ProtoJSON has only null for both.
  return null;
}

function timestampToJson(plain: Plain): string {
  const seconds = Number(plain.seconds ?? 0);
  const nanos = Number(plain.nanos ?? 0);
  const date = new Date(seconds * 1000);
  if (!Number.isFinite(seconds) || Number.isNaN(date.getTime()) || nanos < 0 || nanos > 999_999_999) {
    throw new ProtoWireError(`a Timestamp of ${String(plain.seconds)} seconds and ${String(plain.nanos)} nanos is not a time`);
  }
  // 3, 6 or 9 digits, as ProtoJSON writes them (and 3 for none: the codecs' own timestamps always carry milliseconds).
  const digits = String(nanos).padStart(9, '0');
  const fraction = `.${nanos % 1_000_000 === 0 ? digits.slice(0, 3) : nanos % 1_000 === 0 ? digits.slice(0, 6) : digits}`;
  return date.toISOString().replace(/\.\d{3}Z$/, `${fraction}Z`);
}

function messageFromJson(type: Type, json: Plain): Plain {
  const out: Plain = {};
  for (const field of type.fieldsArray) {
    const value = json[field.name];
    if (value === undefined) continue;
    const resolved = field.resolvedType;
    if (resolved === null || !('fieldsArray' in resolved)) {
      out[field.name] = value;
      continue;
    }
    out[field.name] = mapField(field, value, (item) => wellKnownFromJson(resolved, item));
  }
  return out;
}

function wellKnownFromJson(type: Type, json: unknown): unknown {
  switch (type.fullName) {
    case STRUCT:
      return structFromJson(json as Record<string, unknown>);
    case VALUE:
      return valueFromJson(json);
    case LIST_VALUE:
      return { values: (json as unknown[]).map(valueFromJson) };
    case TIMESTAMP:
      return timestampFromJson(json as string);
    default:
      return messageFromJson(type, json as Plain);
  }
}

function structFromJson(json: Record<string, unknown>): Plain {
  const fields: Plain = {};
  for (const [key, value] of Object.entries(json)) fields[key] = valueFromJson(value);
  return { fields };
}

function valueFromJson(json: unknown): Plain {
  if (json === null || json === undefined) return { nullValue: 'NULL_VALUE' };
  if (typeof json === 'string') return { stringValue: json };
  if (typeof json === 'number') return { numberValue: json };
  if (typeof json === 'boolean') return { boolValue: json };
  if (Array.isArray(json)) return { listValue: { values: json.map(valueFromJson) } };
  return { structValue: structFromJson(json as Record<string, unknown>) };
}

/** RFC 3339 as the codecs write it; up to nanoseconds kept. */
function timestampFromJson(text: string): Plain {
  const match = /^(.*?)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/i.exec(text);
  const millis = match === null ? Number.NaN : Date.parse(`${match[1]}${match[3]}`);
  if (match === null || Number.isNaN(millis)) throw new ProtoWireError(`"${text}" is not an RFC 3339 timestamp`);
  return { seconds: Math.floor(millis / 1000), nanos: Number((match[2] ?? '').padEnd(9, '0')) };
}

function mapField(field: Field, value: unknown, convert: (item: unknown) => unknown): unknown {
  if (field.repeated) return (value as unknown[]).map(convert);
  if (field.map) return Object.fromEntries(Object.entries(value as Plain).map(([key, item]) => [key, convert(item)]));
  return convert(value);
}
