/**
 * Make a string from the wire safe for a terminal: control characters, escape sequences, and
 * bidi overrides are shown, never interpreted. A SIP header or a conntrack label can carry ANSI
 * escapes; printing them raw would let a packet write to the operator's terminal.
 */

// C0 controls except tab, DEL, C1 controls, bidi embedding/override/isolate marks, line/para separators.
const UNSAFE = /[\x00-\x08\x0a-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]/g;

function escapeChar(c: string): string {
  const code = c.charCodeAt(0);
  switch (code) {
    case 0x0a:
      return '\\n';
    case 0x0d:
      return '\\r';
    case 0x1b:
      return '\\e';
    default:
      return code <= 0xff ? '\\x' + code.toString(16).padStart(2, '0') : '\\u{' + code.toString(16) + '}';
  }
}

export function visible(text: string): string {
  UNSAFE.lastIndex = 0;
  return UNSAFE.test(text) ? text.replace(UNSAFE, escapeChar) : text;
}

/** Bytes to visible text: printable ASCII as is, everything else as \xNN. */
export function visibleBytes(b: Uint8Array, off = 0, len = b.length - off): string {
  let s = '';
  for (let i = off; i < off + len; i++) {
    const c = b[i]!;
    s += c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : c === 0x09 ? '\t' : '\\x' + c.toString(16).padStart(2, '0');
  }
  return s;
}
