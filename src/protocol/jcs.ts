// RFC 8785 (JSON Canonicalization Scheme): the byte-exact form an agent card is
// signed in. Strings and numbers serialize as ECMAScript's JSON.stringify does
// (RFC 8785 §3.2.2 defines them that way); object members are sorted by their
// names' UTF-16 code units, which is what Array.prototype.sort compares.
//
// Written here rather than taken from npm: it is short, it must refuse what
// JCS cannot represent (NaN, Infinity, lone surrogates) instead of emitting
// `null`, and it must skip `undefined` members exactly as the JSON we serve
// does, so the signed form is that of the card on the wire.

/** A value JCS cannot represent: the message says where in the document. */
export class CanonicalizationError extends TypeError {
  override name = 'CanonicalizationError';
}

/** The RFC 8785 canonical form of a JSON value. Object members whose value is `undefined` are left out, as JSON.stringify does. */
export function canonicalize(value: unknown): string {
  return write(value, '$');
}

function write(value: unknown, path: string): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw new CanonicalizationError(`${path}: ${value} has no JSON form`);
      // ECMAScript Number::toString, as RFC 8785 §3.2.2.3 prescribes; -0 becomes "0".
      return JSON.stringify(value);
    case 'string':
      return string(value, path);
    case 'object':
      if (Array.isArray(value)) return `[${value.map((item, i) => (item === undefined ? fail(`${path}[${i}]`, 'undefined') : write(item, `${path}[${i}]`))).join(',')}]`;
      return object(value as Record<string, unknown>, path);
    default:
      return fail(path, typeof value);
  }
}

function object(value: Record<string, unknown>, path: string): string {
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) throw new CanonicalizationError(`${path}: only plain objects have a JSON form`);
  const names = Object.keys(value)
    .filter((name) => value[name] !== undefined)
    .sort();
  return `{${names.map((name) => `${string(name, `${path} (a member name)`)}:${write(value[name], `${path}.${name}`)}`).join(',')}}`;
}

/** JSON.stringify's string form is RFC 8785's, once lone surrogates (which I-JSON forbids) are refused. */
function string(value: string, path: string): string {
  if (/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(value)) {
    throw new CanonicalizationError(`${path}: the string holds a lone surrogate, which JSON text for signing may not`);
  }
  return JSON.stringify(value);
}

function fail(path: string, what: string): never {
  throw new CanonicalizationError(`${path}: a value of type ${what} has no JSON form`);
}
