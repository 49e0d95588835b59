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
