/**
 * JSON text that is also safe on a terminal. JSON.stringify escapes C0 controls but leaves DEL,
 * C1 controls (0x9b is an 8-bit CSI), bidi overrides and line separators raw, so `-f json` piped
 * to a terminal, or a log viewer, could still be driven by a packet. Escaping them as \uXXXX
 * keeps the JSON valid and the data exact.
 */
const UNSAFE_IN_JSON = /[\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]/g;

export function jsonText(value: unknown, indent?: number): string {
  const s = JSON.stringify(value, null, indent);
  UNSAFE_IN_JSON.lastIndex = 0;
  return UNSAFE_IN_JSON.test(s) ? s.replace(UNSAFE_IN_JSON, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0')) : s;
}

/** Is this UTF-16 unit printable ASCII that a JSON string holds as it is (no quote, no backslash)? */
export function plainJsonUnit(c: number): boolean {
  return c >= 0x20 && c <= 0x7e && c !== 0x22 && c !== 0x5c;
}

/**
 * jsonText of a string. Printable ASCII without a quote or a backslash (addresses, times, most
 * Call-IDs) needs no escaping and is quoted as it is; anything else goes through jsonText.
 */
export function jsonString(s: string): string {
  for (let i = 0; i < s.length; i++) if (!plainJsonUnit(s.charCodeAt(i))) return jsonText(s);
  return '"' + s + '"';
}
