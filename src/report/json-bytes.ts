/**
 * JSON text written straight into bytes, for lists of a hundred thousand records and more (the
 * calls of a big capture). Built as strings, each record cost some thirty concatenations, then
 * a copy to join a batch and a third to encode it: five bytes allocated for every byte written,
 * so that writing caused half the young-generation collections of `calls`, each of which also
 * copies the tracker's live state. Here printable ASCII (nearly every value) is copied a
 * character at a time into a buffer that is handed on when full; anything else goes through
 * jsonText and the UTF-8 encoder, so the bytes are exactly those of jsonText.
 */
import { isoSecond, formatIso } from '../core/time.js';
import { jsonText, plainJsonUnit } from './json-text.js';
import { writeDecimal } from '../core/strings.js';

const CHUNK = 1 << 16;

export class JsonBytes {
  private buf: Buffer = Buffer.allocUnsafeSlow(CHUNK);
  private pos = 0;

  /**
   * `sink` receives each filled chunk and may keep it: a chunk is never written to again (a
   * stream holds on to what it is given until it is flushed).
   */
  constructor(private readonly sink: (chunk: Uint8Array) => void) {}

  /** Hand on what is buffered. */
  flush(): void {
    if (this.pos === 0) return;
    this.sink(this.buf.subarray(0, this.pos));
    this.buf = Buffer.allocUnsafeSlow(CHUNK);
    this.pos = 0;
  }

  /** Room for n more bytes. */
  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    this.flush();
    if (n > this.buf.length) this.buf = Buffer.allocUnsafeSlow(n);
  }

  /** Bytes as they are (text this class wrote earlier, see taken()). */
  raw(b: Uint8Array): void {
    this.room(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  /**
   * What was written since the last flush or taken(), for a writer that renders pieces to keep
   * rather than to hand on: a view of the buffer, valid until the next write (what overflowed a
   * chunk went to the sink).
   */
  taken(): Uint8Array {
    const b = this.buf.subarray(0, this.pos);
    this.pos = 0;
    return b;
  }

  /** Text known to be printable ASCII that needs no escaping: our own punctuation and names. */
  ascii(s: string): void {
    const n = s.length;
    this.room(n);
    const b = this.buf;
    let p = this.pos;
    for (let i = 0; i < n; i++) b[p++] = s.charCodeAt(i);
    this.pos = p;
  }

  /** Any text, as UTF-8. */
  text(s: string): void {
    this.room(s.length * 3);
    this.pos += this.buf.write(s, this.pos, 'utf8');
  }

  /** A string as jsonString prints it (quoted; escaped when it must be, by the same test). */
  string(s: string): void {
    const n = s.length;
    this.room(n + 2);
    const b = this.buf;
    let p = this.pos;
    b[p++] = 0x22;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (!plainJsonUnit(c)) {
        this.text(jsonText(s));
        return;
      }
      b[p++] = c;
    }
    b[p++] = 0x22;
    this.pos = p;
  }

  /** A number as JSON.stringify prints it. */
  number(x: number): void {
    if (!(Number.isSafeInteger(x) && x >= 0)) {
      this.ascii(JSON.stringify(x));
      return;
    }
    this.room(16);
    this.pos = writeDecimal(this.buf, this.pos, x);
  }

  /** formatIso(sec, nsec, precision) as a JSON string. */
  isoString(sec: number, nsec: number, precision: number): void {
    const base = isoSecond(sec);
    if (base === undefined || !(Number.isInteger(nsec) && nsec >= 0 && nsec < 1e9) || !Number.isInteger(precision)) {
      this.string(formatIso(sec, nsec, precision));
      return;
    }
    const digits = precision <= 0 ? 0 : precision > 9 ? 9 : precision;
    this.room(base.length + digits + 4);
    const b = this.buf;
    let p = this.pos;
    b[p++] = 0x22;
    for (let i = 0; i < base.length; i++) b[p++] = base.charCodeAt(i);
    if (digits > 0) {
      b[p++] = 0x2e;
      // The first `digits` of the nine-digit fraction.
      let scale = 1e8;
      for (let i = 0; i < digits; i++, scale /= 10) b[p++] = 0x30 + (Math.floor(nsec / scale) % 10);
    }
    b[p++] = 0x5a;
    b[p++] = 0x22;
    this.pos = p;
  }
}

/**
 * jsonText(value, 2) of a plain object, written into `w`: the members one by one and the elements
 * of its array members one by one, so a report whose flows list runs to megabytes is never one
 * string in memory. A member named in `elements` has its elements written by that function, as
 * jsonText(element, 2) indented by four (the report's flows: 20,000 of them took 95-105 ms as
 * text, joined and encoded, and take 55-60 ms as bytes). The bytes are jsonText's, as UTF-8.
 */
export function writeJsonBytes(value: Record<string, unknown>, w: JsonBytes, elements: Readonly<Record<string, (w: JsonBytes, el: never) => void>> = {}): void {
  let first = true;
  w.ascii('{');
  for (const key of Object.keys(value)) {
    const v = value[key];
    // JSON.stringify leaves these members out.
    if (v === undefined || typeof v === 'function' || typeof v === 'symbol') continue;
    w.ascii(first ? '\n  ' : ',\n  ');
    w.text(jsonText(key));
    w.ascii(': ');
    first = false;
    if (Array.isArray(v) && v.length > 0) {
      const render = elements[key] as ((w: JsonBytes, el: unknown) => void) | undefined;
      for (let i = 0; i < v.length; i++) {
        w.ascii(i === 0 ? '[\n    ' : ',\n    ');
        const el = v[i] as unknown;
        if (el === undefined || typeof el === 'function' || typeof el === 'symbol') w.ascii('null');
        else if (render !== undefined) render(w, el);
        else w.text(jsonText(el, 2).replace(/\n/g, '\n    '));
      }
      w.ascii('\n  ]');
    } else w.text(jsonText(v, 2).replace(/\n/g, '\n  '));
  }
  w.ascii(first ? '}' : '\n}');
}
