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

/**
 * The decimal digits of v (a non-negative safe integer) written as ASCII at t[p...], which has
 * room for them (16 bytes will do); returns the index after them. For text made as bytes: JSON
 * numbers, endpoint addresses.
 */
export function writeDecimal(t: Uint8Array, p: number, v: number): number {
  let n = 1;
  for (let x = v; x >= 10; x = Math.floor(x / 10)) n++;
  const end = p + n;
  let q = end;
  do {
    const d = Math.floor(v / 10);
    t[--q] = 0x30 + (v - d * 10);
    v = d;
  } while (v > 0);
  return end;
}
