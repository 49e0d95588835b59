/**
 * Deterministic mutation of seed inputs. Input number i of a run is a pure function of
 * (run seed, i, corpus), so a crash found after an hour is reproduced from two numbers, and a
 * supervisor that killed a hung child can rebuild the input it was working on.
 */

/** xorshift128+ style 32-bit generator (sfc32): small, fast, and identical everywhere. */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number, stream = 0) {
    this.a = seed >>> 0;
    this.b = (stream ^ 0x9e3779b9) >>> 0;
    this.c = 0x243f6a88;
    this.d = 1;
    for (let i = 0; i < 15; i++) this.u32();
  }

  u32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }

  /** Uniform in [0, n). */
  below(n: number): number {
    return n <= 1 ? 0 : this.u32() % n;
  }

  chance(p: number): boolean {
    return this.u32() / 0x100000000 < p;
  }

  pick<T>(xs: readonly T[]): T {
    return xs[this.below(xs.length)]!;
  }
}

/** FNV-1a over bytes, for seeding per-input generators and naming crash files. */
export function fnv(b: Uint8Array, h = 0x811c9dc5): number {
  for (let i = 0; i < b.length; i++) h = Math.imul(h ^ b[i]!, 0x01000193) >>> 0;
  return h >>> 0;
}

export function mix(a: number, b: number): number {
  let h = Math.imul(a ^ 0x85ebca6b, 0xc2b2ae35) ^ b;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * Values a length or count field is set to: the extremes and the numbers just past the bounds
 * the readers and parsers enforce (record 256 KiB, block 16 MiB, IP 65535, SIP 65535 and 16384).
 */
export const EXTREMES = [
  0, 1, 2, 3, 4, 7, 8, 11, 12, 15, 16, 19, 20, 27, 28, 31, 32, 39, 40, 0x7f, 0x80, 0xff, 0x100, 0x3fff, 0x4000, 0x4001, 0x7fff, 0x8000,
  0xfffe, 0xffff, 0x10000, 0x10001, 0x40000, 0x40001, 0x1000000, 0x1000001, 0x7fffffff, 0x80000000, 0xfffffffc, 0xfffffffe, 0xffffffff,
] as const;

/** Words dropped into text inputs: numbers at the edges, delimiters, separators, controls. */
const TOKENS = [
  '0', '-1', '-0', '65535', '65536', '4294967295', '4294967296', '18446744073709551616', '9007199254740993', '1e308', 'NaN', '0x10',
  '\r\n', '\n', '\r', '\r\n\r\n', '\t', ' ', '\u0000', '\u001b[31m', '\u202e', '\uffff', '\ud800', '=', ':', ';', ',', '[', ']', '{', '}',
  '"', "'", '\\', '<', '>', '/', '%', '::', '::ffff:1.2.3.4', '[::1]', '255.255.255.255', '256.1.1.1', '1.2.3', 'src=', 'dst=', 'sport=',
  'dport=', 'udp', 'tcp', 'tcp      6 ', 'ipv6     10 ', 'ESTABLISHED', '[ASSURED]', '[UNREPLIED]', 'mark=', 'zone=', 'use=', 'id=',
  'SIP/2.0', 'INVITE ', 'Via: SIP/2.0/UDP ', 'Call-ID: ', 'CSeq: ', 'Content-Length: ', 'branch=z9hG4bK', 'tag=', 'l: 99999',
  '{"nodes":[', '"state":"terminated"', '"address":', 'null', 'true', '[]', '{}', '-A ', '-j DNAT --to-destination ', 'TCP ', 'UDP ',
  '  -> ', 'Masq', 'Route', '<flow>', '</flow>', '<meta direction="original">', '<layer3 protonum="2" protoname="ipv4">', ']]>', '<!--',
] as const;

export interface MutateOptions {
  /** Offsets of length/count fields known from the seed's structure (pcap record lengths, ...). */
  fields?: number[];
  /** Text targets also get token insertions and line-level edits. */
  text?: boolean;
  /** Largest input produced. */
  maxLen?: number;
}

function grow(b: Uint8Array, at: number, ins: Uint8Array, maxLen: number): Uint8Array {
  if (b.length + ins.length > maxLen) return b;
  const out = new Uint8Array(b.length + ins.length);
  out.set(b.subarray(0, at), 0);
  out.set(ins, at);
  out.set(b.subarray(at), at + ins.length);
  return out;
}

function writeUint(b: Uint8Array, off: number, width: number, v: number, le: boolean): void {
  for (let i = 0; i < width; i++) {
    const shift = le ? i : width - 1 - i;
    b[off + i] = Math.floor(v / 2 ** (8 * shift)) & 0xff;
  }
}

const enc = new TextEncoder();

/** One mutation step; returns the (possibly new) buffer. */
function step(b: Uint8Array, rng: Rng, corpus: readonly Uint8Array[], o: MutateOptions): Uint8Array {
  const maxLen = o.maxLen ?? 1 << 20;
  const n = b.length;
  const kinds = o.text ? 12 : 10;
  switch (rng.below(kinds)) {
    case 0: {
      // bit flips
      if (n === 0) return b;
      const out = b.slice();
      const flips = 1 + rng.below(4);
      for (let i = 0; i < flips; i++) out[rng.below(n)]! ^= 1 << rng.below(8);
      return out;
    }
    case 1: {
      // byte sets
      if (n === 0) return b;
      const out = b.slice();
      const sets = 1 + rng.below(4);
      for (let i = 0; i < sets; i++) out[rng.below(n)] = rng.pick([0, 0xff, 0x7f, 0x80, 0x20, 0x0a, 0x0d, 0x1b, rng.below(256)]);
      return out;
    }
    case 2:
      // truncation
      return b.subarray(0, rng.below(n + 1)).slice();
    case 3: {
      // splice: head of this input, tail of another
      const other = rng.pick(corpus);
      const at = rng.below(n + 1);
      const from = rng.below(other.length + 1);
      const out = new Uint8Array(Math.min(maxLen, at + other.length - from));
      out.set(b.subarray(0, Math.min(at, out.length)), 0);
      if (out.length > at) out.set(other.subarray(from, from + out.length - at), at);
      return out;
    }
    case 4:
    case 5: {
      // a length field set to an extreme: a known field half the time, any aligned word else
      if (n < 2) return b;
      const width = rng.chance(0.5) ? 4 : 2;
      const fields = o.fields ?? [];
      let off = fields.length > 0 && rng.chance(0.6) ? fields[rng.below(fields.length)]! : rng.below(n - 1) & ~1;
      if (off + width > n) off = n - width;
      if (off < 0) return b;
      const out = b.slice();
      let v: number = rng.pick(EXTREMES);
      if (width === 2) v &= 0xffff;
      writeUint(out, off, width, v, rng.chance(0.5));
      return out;
    }
    case 6: {
      // delete a range
      if (n === 0) return b;
      const at = rng.below(n);
      const len = 1 + rng.below(Math.min(n - at, 64));
      const out = new Uint8Array(n - len);
      out.set(b.subarray(0, at), 0);
      out.set(b.subarray(at + len), at);
      return out;
    }
    case 7: {
      // duplicate a range (repeated headers, repeated records)
      if (n === 0) return b;
      const at = rng.below(n);
      const len = 1 + rng.below(Math.min(n - at, 256));
      const times = rng.chance(0.1) ? 1 + rng.below(200) : 1;
      const piece = b.subarray(at, at + len);
      const ins = new Uint8Array(piece.length * times);
      for (let i = 0; i < times; i++) ins.set(piece, i * piece.length);
      return grow(b, at, ins, maxLen);
    }
    case 8: {
      // insert random bytes
      const len = 1 + rng.below(16);
      const ins = new Uint8Array(len);
      for (let i = 0; i < len; i++) ins[i] = rng.below(256);
      return grow(b, rng.below(n + 1), ins, maxLen);
    }
    case 9: {
      // arithmetic on one byte (off-by-one lengths)
      if (n === 0) return b;
      const out = b.slice();
      const at = rng.below(n);
      out[at] = (out[at]! + rng.pick([1, -1, 2, -2, 16, -16])) & 0xff;
      return out;
    }
    case 10: {
      // text: insert a token
      const tok = enc.encode(rng.pick(TOKENS));
      return grow(b, rng.below(n + 1), tok, maxLen);
    }
    default: {
      // text: one huge line, many repetitions of a short one, or deep nesting (JSON, XML)
      const k = rng.below(3);
      const what =
        k === 0
          ? 'A'.repeat(1 + rng.below(70000))
          : k === 1
            ? 'x: y\r\n'.repeat(1 + rng.below(2000))
            : rng.pick(['[', '{"a":', '<flow>', '[{"x":']).repeat(1 + rng.below(20000));
      return grow(b, rng.below(n + 1), enc.encode(what), maxLen);
    }
  }
}

/** Apply 1..8 mutation steps (biased towards few) to `input`. */
export function mutate(input: Uint8Array, rng: Rng, corpus: readonly Uint8Array[], o: MutateOptions = {}): Uint8Array {
  let b = input;
  const steps = 1 + (rng.chance(0.5) ? 0 : rng.below(rng.chance(0.8) ? 3 : 8));
  for (let i = 0; i < steps; i++) b = step(b, rng, corpus, o);
  return b;
}
