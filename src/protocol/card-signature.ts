import { canonicalize } from './jcs.js';

// Agent card signatures (A2A 1.0 §8.4; 0.3 declares the same `signatures`
// member): a JWS with a detached payload, the payload being the card in RFC
// 8785 form without its `signatures`.

/** One entry of a card's `signatures`: a flattened JWS without its payload. */
export interface AgentCardSignature {
  /** The base64url-encoded protected header: alg, typ "JOSE", kid, and optionally jku. */
  protected: string;
  /** The base64url-encoded signature. */
  signature: string;
  /** Unprotected header parameters, if any. */
  header?: Record<string, unknown>;
}

/**
 * The bytes a card's signature covers. §8.4.1 asks for field-presence
 * semantics before JCS: members left at their default are absent. The
 * official SDKs apply that as "drop every empty value" (null, "", [] and {},
 * recursively, after their own members are dropped), and a signature only
 * means something if both ends compute the same bytes, so this does exactly
 * that. `false` and 0 stay: in the card they are explicitly set optionals.
 */
export function cardSigningInput(card: Readonly<Record<string, unknown>>): string {
  const { signatures: _ignored, ...rest } = card;
  return canonicalize(withoutEmpty(rest) ?? {});
}

function withoutEmpty(value: unknown): unknown {
  if (value === null || value === undefined || value === '') return undefined;
  if (Array.isArray(value)) {
    const kept = value.map(withoutEmpty).filter((item) => item !== undefined);
    return kept.length > 0 ? kept : undefined;
  }
  if (typeof value === 'object') {
    // No prototype: a member named "__proto__" in a peer's card stays a member.
    const kept = Object.create(null) as Record<string, unknown>;
    for (const [name, member] of Object.entries(value as Record<string, unknown>)) {
      const cleaned = withoutEmpty(member);
      if (cleaned !== undefined) kept[name] = cleaned;
    }
    return Object.keys(kept).length > 0 ? kept : undefined;
  }
  return value;
}
