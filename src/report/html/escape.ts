/**
 * Escaping for the HTML report. Every string that came from the wire or a file goes through
 * `h` (text and attribute values alike): control characters and bidi marks made visible first
 * (visible.ts), then the five HTML metacharacters. Data for the inline script is JSON inside a
 * non-executed script element, with every character that could end the element or start markup
 * written as a \u escape.
 */
import { visible } from '../visible.js';

const HTML: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text or attribute value (always used inside double quotes). */
export function h(s: string | number | null | undefined): string {
  if (s === null || s === undefined) return '';
  return visible(String(s)).replace(/[&<>"']/g, (c) => HTML[c]!);
}

/** JSON safe inside <script type="application/json">: no "<", ">", "&" or line separators as such. */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
}
