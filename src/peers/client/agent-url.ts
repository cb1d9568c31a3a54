import { withoutTrailingSlashes } from '../../model/text.js';

// What a person types or pastes as "the agent's URL", made into the base URL
// the client reads the card under.

/** Where an agent card is served, newest first: A2A 1.0's path, then the 0.2/0.3 one (VAPORA's). */
export const CARD_PATHS = ['/.well-known/agent-card.json', '/.well-known/agent.json'] as const;

/**
 * The agent's base URL: an http(s) URL without trailing slashes, and a pasted
 * card URL (…/.well-known/agent-card.json or …/.well-known/agent.json) taken
 * back to the base it belongs to. Throws a TypeError naming the input when it
 * is not a usable base URL.
 */
export function agentBaseUrl(input: string): string {
  const text = input.trim();
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new TypeError(`"${input}" is not a URL${missingScheme(text)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new TypeError(`"${input}" is not an http or https URL${missingScheme(text)}`);
  }
  // Neither survives joining a card or endpoint path onto the base; credentials would end up in logs and errors.
  if (url.username !== '' || url.password !== '') throw new TypeError(`"${url.host}${url.pathname}" carries credentials in the URL; send them as a header instead`);
  if (url.search !== '' || url.hash !== '') throw new TypeError(`"${input}" has a query or fragment; give the agent's base URL, e.g. ${url.origin}`);
  let path = withoutTrailingSlashes(url.pathname);
  const card = CARD_PATHS.find((p) => path.endsWith(p));
  if (card !== undefined) path = path.slice(0, -card.length);
  return url.origin + path;
}

/** "localhost:8080" parses as a URL of scheme "localhost:": suggest what was meant. */
function missingScheme(text: string): string {
  return text.includes('://') || text === '' ? '' : `; did you mean http://${text}?`;
}
