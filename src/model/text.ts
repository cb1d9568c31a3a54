// String trimming for input nobody vetted. A regex such as /=+$/ or /\/+$/
// looks cheap but tries a match at every position of a run of the character,
// so a run of n costs n² steps: 100k "=" blocked the event loop for seconds.
// These walk the string once.

/** `text` without the characters of `chars` at its end. */
export function trimEndChars(text: string, chars: string): string {
  let end = text.length;
  while (end > 0 && chars.includes(text[end - 1]!)) end--;
  return end === text.length ? text : text.slice(0, end);
}

/** `text` without the characters of `chars` at its start. */
export function trimStartChars(text: string, chars: string): string {
  let start = 0;
  while (start < text.length && chars.includes(text[start]!)) start++;
  return start === 0 ? text : text.slice(start);
}

/** A base URL as configured or discovered, without trailing slashes, so paths can be appended. */
export function withoutTrailingSlashes(url: string): string {
  return trimEndChars(url, '/');
}
