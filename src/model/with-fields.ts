/**
 * `base` with `fields` added or replaced: `{ ...base, ...fields }`, built so that
 * objects made on every request share one hidden class.
 *
 * Node 20's V8 gives the result of a spread followed by a property the spread
 * did not bring (`{ ...headers, 'content-length': n }`) a hidden class of its
 * own each time: a map in the old generation, which carries its descriptors
 * through every young collection. Old-generation garbage for every object, on
 * a path taken by every request, brings full collections the sooner. Copying
 * into an empty literal takes the ordinary, cached transitions instead. Where
 * the added fields replace ones `base` has, or the spread comes last, a spread
 * is as good and is kept.
 */
export function withFields<T extends object, U extends object>(base: T, fields: U): Omit<T, keyof U> & U {
  return Object.assign({}, base, fields);
}
