/** String helpers for strings that are kept (table keys, cached names, texts waiting to be written). */

/** Written by flatten so that the optimizer cannot drop the read that flattens. */
let flatSink = 0;

/**
 * The same string, made flat. V8 keeps the result of `a + b + ...` as a tree of its parts until
 * the whole is read: an address built from its eight parts takes about 300 bytes that way and
 * 40 flat, and a transaction key about 250 against 80. Reading one character flattens the tree
 * in place. The read feeds a module variable: a read whose result is unused is optimized away
 * (measured on Node 20: an unused Number(s) left every key a tree). For strings that live long;
 * a string used once is left as it is.
 */
export function flatten(s: string): string {
  flatSink = (flatSink + s.charCodeAt(s.length >> 1)) | 0;
  return s;
}
