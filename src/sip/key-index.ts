/**
 * A map whose keys have four parts: a primary string (a Via branch, a Call-ID), two more
 * strings and a number. The tracker looks a transaction or a call up for every message; a key
 * string made of the parts would cost a concatenation, a copy and a hash over the whole of it
 * (or a cache of such strings, whose misses cost the same), where here the Map hashes the
 * primary string alone, a string the parser made once per message or shared between messages
 * (its hash is then cached in it), and the few entries under one primary are told apart by
 * comparing the other parts. Primary strings rarely repeat across live entries (a branch is
 * unique per transaction but for its CANCEL; a Call-ID per call but for forks), so the lists
 * stay one entry long.
 */
interface Entry<T> {
  readonly a: string;
  readonly n: number;
  readonly c: string;
  v: T;
  next: Entry<T> | undefined;
}

export class KeyIndex<T> {
  private readonly heads = new Map<string, Entry<T>>();
  /** Entries held. */
  size = 0;

  get(p: string, a: string, n: number, c: string): T | undefined {
    for (let e = this.heads.get(p); e !== undefined; e = e.next) if (e.n === n && e.a === a && e.c === c) return e.v;
    return undefined;
  }

  /** Map the key to v, replacing what it mapped to. `p` is kept: pass a flat string. */
  set(p: string, a: string, n: number, c: string, v: T): void {
    const head = this.heads.get(p);
    for (let e = head; e !== undefined; e = e.next) {
      if (e.n === n && e.a === a && e.c === c) {
        e.v = v;
        return;
      }
    }
    this.heads.set(p, { a, n, c, v, next: head });
    this.size++;
  }

  /** Remove the key, but only while it maps to v (a later entry may have taken it over). */
  deleteIf(p: string, a: string, n: number, c: string, v: T): void {
    let prev: Entry<T> | undefined;
    for (let e = this.heads.get(p); e !== undefined; prev = e, e = e.next) {
      if (e.n !== n || e.a !== a || e.c !== c) continue;
      if (e.v !== v) return;
      if (prev !== undefined) prev.next = e.next;
      else if (e.next === undefined) this.heads.delete(p);
      else this.heads.set(p, e.next);
      this.size--;
      return;
    }
  }
}
