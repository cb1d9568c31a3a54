/**
 * `base` with `fields` added or replaced: `{ ...base, ...fields }`, built so that
 * objects made on every request share one hidden class.
 *
 * Node 20's V8 gives the result of a spread followed by a property the spread
 * did not bring (`{ ...headers, 'content-length': n }`) a hidden class of its
 * own each time, allocated in the old generation with its descriptors: old-space
 * garbage per object, which brought full collections every few dozen
 * milliseconds under load. Copying into an empty literal takes the ordinary,
 * cached transitions instead. Where the added fields are known to replace ones
 * `base` has, or a spread comes last, the spread is as good and is kept.
 */
export function withFields<T extends object, U extends object>(base: T, fields: U): Omit<T, keyof U> & U {
  return Object.assign({}, base, fields);
}
