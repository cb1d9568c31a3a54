import { InvalidParamsError } from '../model/errors.js';
import type { PushAuthentication, PushConfig, PushConfigInput } from '../model/push.js';
import { optionalString, string } from './read.js';
import type { Obj } from './read.js';

// The parts of a push-notification config that 1.0 and 0.3 spell the same way,
// bounded: a config is stored, and its token and credentials become request
// headers on every delivery, so nothing in it may be large or break a header.

export const MAX_PUSH_URL_CHARS = 2048;
export const MAX_PUSH_TOKEN_CHARS = 512;
export const MAX_PUSH_CREDENTIALS_CHARS = 4096;
export const MAX_PUSH_CONFIG_ID_CHARS = 128;

/** Visible ASCII and spaces: what may stand in a header value (no CR, LF or other control characters). */
const HEADER_SAFE = /^[\x20-\x7e]*$/;
/** An HTTP token (RFC 9110 5.6.2), as authentication scheme names are. */
const HTTP_TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$/;
const CONFIG_ID = /^[A-Za-z0-9._~-]+$/;

function bounded(value: string, path: string, max: number): string {
  if (value.length > max) throw new InvalidParamsError(`${path} must be at most ${max} characters, got ${value.length}`, path);
  return value;
}

function headerSafe(value: string | undefined, path: string, max: number): string | undefined {
  if (value === undefined) return undefined;
  bounded(value, path, max);
  if (!HEADER_SAFE.test(value)) throw new InvalidParamsError(`${path} must be printable ASCII (it is sent in a request header)`, path);
  return value;
}

/** An absolute http(s) URL; where it points is the egress guard's question, asked when the config is saved. */
export function readPushUrl(value: unknown, path: string): string {
  const text = bounded(string(value, path), path, MAX_PUSH_URL_CHARS);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new InvalidParamsError(`${path} must be an absolute http or https URL`, path);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new InvalidParamsError(`${path} must be an http or https URL, not ${url.protocol}`, path);
  }
  if (url.username !== '' || url.password !== '') {
    throw new InvalidParamsError(`${path} must not carry credentials; put them in authentication instead`, path);
  }
  return url.href;
}

export function readPushConfigId(value: unknown, path: string): string | undefined {
  const id = optionalString(value, path);
  if (id === undefined || id === '') return undefined;
  bounded(id, path, MAX_PUSH_CONFIG_ID_CHARS);
  if (!CONFIG_ID.test(id)) throw new InvalidParamsError(`${path} may hold only letters, digits and . _ ~ -`, path);
  return id;
}

export function readPushAuthentication(scheme: string, credentials: unknown, path: string): PushAuthentication {
  if (!HTTP_TOKEN.test(scheme)) throw new InvalidParamsError(`${path}.scheme must be an HTTP authentication scheme name such as Bearer`, `${path}.scheme`);
  const secret = headerSafe(optionalString(credentials, `${path}.credentials`), `${path}.credentials`, MAX_PUSH_CREDENTIALS_CHARS);
  return secret === undefined || secret === '' ? { scheme } : { scheme, credentials: secret };
}

/** The fields both versions share; `authentication` is read by the caller, whose shape differs by version. */
export function readPushConfig(o: Obj, path: string, authentication: PushAuthentication | undefined): PushConfigInput {
  const config: PushConfigInput = { url: readPushUrl(o.url, `${path}.url`) };
  const id = readPushConfigId(o.id, `${path}.id`);
  if (id !== undefined) config.id = id;
  const token = headerSafe(optionalString(o.token, `${path}.token`), `${path}.token`, MAX_PUSH_TOKEN_CHARS);
  if (token !== undefined && token !== '') config.token = token;
  if (authentication !== undefined) config.authentication = authentication;
  return config;
}

/** A config's common fields in wire order, without its credentials. */
export function writePushConfig(config: PushConfig): Obj {
  return { id: config.id, url: config.url, ...(config.token === undefined ? {} : { token: config.token }) };
}
