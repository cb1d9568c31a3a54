// Secrets out of everything the agent shows or writes down: /peers, logs,
// task status. One place decides what a secret looks like.

const HIDDEN = '***';

/**
 * `text` with the credentials of every URL in it ("https://user:pass@host")
 * replaced by "***": the URLs themselves stay readable. One pass over the text.
 */
export function redactCredentials(text: string): string {
  let out = '';
  let from = 0;
  for (let i = text.indexOf('://'); i !== -1; i = text.indexOf('://', i)) {
    const start = i + 3;
    let end = start;
    let at = -1;
    for (; end < text.length && !AUTHORITY_END.has(text[end]!); end++) if (text[end] === '@') at = end;
    if (at !== -1) {
      out += `${text.slice(from, start)}${HIDDEN}`;
      from = at;
    }
    i = Math.max(start, end - 2);
  }
  return from === 0 ? text : out + text.slice(from);
}

/** Where the authority of a URL ends: its path, query or fragment, or the text around it. */
const AUTHORITY_END = new Set(['/', '?', '#', ' ', '\t', '\n', '\r', '"', "'", '<', '>', '`', ',', ';', ')', ']', '}']);

/**
 * `text` without the given secrets (an API key, wherever it appears), bearer
 * tokens and URL credentials: for what an upstream server sent back, which
 * may echo what it was sent.
 */
export function redactSecrets(text: string, secrets: readonly (string | undefined)[] = []): string {
  let out = redactCredentials(text);
  for (const secret of secrets) {
    // A short "secret" would blank out ordinary words.
    if (secret !== undefined && secret.length >= 8) out = out.split(secret).join(HIDDEN);
  }
  return out.replace(/\b(Bearer|Basic)\s+[^\s"',;]+/gi, `$1 ${HIDDEN}`);
}
