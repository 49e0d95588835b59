/** Array helpers for arrays that are kept (they live long enough to be copied by the collector). */

/** a with x appended, in a new array of exactly that size (push would reserve 16 more slots). */
export function appended<T>(a: readonly T[], x: T): T[] {
  const n = a.length;
  const out = new Array<T>(n + 1);
  for (let i = 0; i < n; i++) out[i] = a[i]!;
  out[n] = x;
  return out;
}
