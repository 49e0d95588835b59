/**
 * When each address last (and first) sent a SIP message, and how many: the liveness evidence of
 * a backend. At a balancer nearly every address heard from is a client's fresh source port
 * (147,000 on the 1 GB benchmark capture), and only the few backends are ever asked about, so
 * the table is laid out for size: open addressing over typed columns, keyed by a number. An
 * IPv4 endpoint is its own key (core/address.ts ipv4EndpointKey), so no string is kept for it;
 * any other address (IPv6, a TCP stream's text) gets an id from a Map of its text.
 *
 * Against a Map from the text to a row of columns it saves the Map's table (48 bytes an entry
 * at its load) and the strings it alone kept alive: about 10 MB of `analyze`'s heap on that
 * capture (docs/sip.md).
 */
import { ipv4EndpointKeyOf } from '../core/address.js';

/** Slots at first (a power of two). */
const FIRST_SLOTS = 1024;

/** A table as it crosses threads: a split `analyze` keeps it on its reading thread (sip/handoff.ts). */
export interface HeardFields {
  size: number;
  keys: Float64Array;
  firstSec: Float64Array;
  lastSec: Float64Array;
  count: Float64Array;
  firstNsec: Int32Array;
  lastNsec: Int32Array;
  precision: Uint8Array;
  /** The text addresses, in the order of their ids. */
  texts: string[];
  /** Sightings not recorded: new addresses once the table was full. */
  dropped: number;
}

export class HeardTable {
  /** Rows in use. */
  size = 0;
  private mask = FIRST_SLOTS - 1;
  /**
   * Per slot: the key, stored as key + 1 for an IPv4 endpoint (>= 1) and -(id + 1) for an
   * address with an id (<= -1); 0 is an empty slot.
   */
  private keys: Float64Array = new Float64Array(FIRST_SLOTS);
  firstSec: Float64Array = new Float64Array(FIRST_SLOTS);
  lastSec: Float64Array = new Float64Array(FIRST_SLOTS);
  count: Float64Array = new Float64Array(FIRST_SLOTS);
  firstNsec: Int32Array = new Int32Array(FIRST_SLOTS);
  lastNsec: Int32Array = new Int32Array(FIRST_SLOTS);
  precision: Uint8Array = new Uint8Array(FIRST_SLOTS);
  /** Ids of the addresses that are not IPv4 endpoints. */
  private readonly ids = new Map<string, number>();

  /** The key heard() stored or found last, and its slot (the insert that grows the table sets both after). */
  private lastStored = 0;
  private lastSlot = 0;

  /** Sightings heard() did not record (a new address, the table full). */
  dropped = 0;

  constructor(private readonly max: number) {}

  fields(): HeardFields {
    return {
      size: this.size,
      keys: this.keys,
      firstSec: this.firstSec,
      lastSec: this.lastSec,
      count: this.count,
      firstNsec: this.firstNsec,
      lastNsec: this.lastNsec,
      precision: this.precision,
      texts: [...this.ids.keys()],
      dropped: this.dropped,
    };
  }

  /** The table whose fields() these are (the columns are taken, not copied). */
  static fromFields(f: HeardFields, max: number): HeardTable {
    const t = new HeardTable(max);
    t.size = f.size;
    t.mask = f.keys.length - 1;
    t.keys = f.keys;
    t.firstSec = f.firstSec;
    t.lastSec = f.lastSec;
    t.count = f.count;
    t.firstNsec = f.firstNsec;
    t.lastNsec = f.lastNsec;
    t.precision = f.precision;
    for (let id = 0; id < f.texts.length; id++) t.ids.set(f.texts[id]!, id);
    t.dropped = f.dropped;
    return t;
  }

  /**
   * `address` sent a message at (sec, nsec). `key` must be ipv4EndpointKeyOf(address) (the
   * dissector has it from the packet's bytes): -1 for anything but an IPv4 endpoint. False
   * when the address is new and the table is full (nothing was recorded).
   */
  heard(address: string, key: number, sec: number, nsec: number, precision: number): boolean {
    const stored = key >= 0 ? key + 1 : this.idOf(address, true);
    if (stored === 0) {
      this.dropped++;
      return false;
    }
    // At a balancer a message and its forwarded copy come from one source, one after the other.
    let i = stored === this.lastStored ? this.lastSlot : this.slot(stored);
    if (this.keys[i] === 0) {
      if (this.size >= this.max) {
        this.dropped++;
        return false;
      }
      // At most 4/5 full: probes stay short, and the default bound (200,000) fits in 2^18 slots.
      if ((this.size + 1) * 5 > (this.mask + 1) * 4) {
        this.grow();
        i = this.slot(stored);
      }
      this.keys[i] = stored;
      this.lastStored = stored;
      this.lastSlot = i;
      this.size++;
      this.firstSec[i] = this.lastSec[i] = sec;
      this.firstNsec[i] = this.lastNsec[i] = nsec;
      this.precision[i] = precision;
      this.count[i] = 1;
      return true;
    }
    this.lastStored = stored;
    this.lastSlot = i;
    this.count[i]++;
    const ls = this.lastSec[i]!;
    const fs = this.firstSec[i]!;
    if (sec > ls || (sec === ls && nsec > this.lastNsec[i]!)) {
      this.lastSec[i] = sec;
      this.lastNsec[i] = nsec;
    } else if (sec < fs || (sec === fs && nsec < this.firstNsec[i]!)) {
      this.firstSec[i] = sec;
      this.firstNsec[i] = nsec;
    }
    if (precision > this.precision[i]!) this.precision[i] = precision;
    return true;
  }

  /** The slot of `address`'s row, or -1 when it was never heard from. */
  find(address: string): number {
    const key = ipv4EndpointKeyOf(address);
    const stored = key >= 0 ? key + 1 : this.idOf(address, false);
    if (stored === 0) return -1;
    const i = this.slot(stored);
    return this.keys[i] === 0 ? -1 : i;
  }

  /** Stored key of a text address: -(id + 1), made when `make` and there is room; 0 when none. */
  private idOf(address: string, make: boolean): number {
    let id = this.ids.get(address);
    if (id === undefined) {
      if (!make || this.size >= this.max) return 0;
      id = this.ids.size;
      this.ids.set(address, id);
    }
    return -(id + 1);
  }

  /** The slot holding `stored`, or the empty slot where it would go (linear probing). */
  private slot(stored: number): number {
    const lo = stored >>> 0;
    const hi = Math.floor(stored / 4294967296) | 0;
    let h = Math.imul(lo ^ Math.imul(hi, 0x9e3779b1), 0x85ebca6b);
    h ^= h >>> 15;
    const keys = this.keys;
    const mask = this.mask;
    let i = h & mask;
    while (keys[i] !== 0 && keys[i] !== stored) i = (i + 1) & mask;
    return i;
  }

  private grow(): void {
    const old = { keys: this.keys, firstSec: this.firstSec, lastSec: this.lastSec, count: this.count, firstNsec: this.firstNsec, lastNsec: this.lastNsec, precision: this.precision };
    const n = (this.mask + 1) * 2;
    this.mask = n - 1;
    this.keys = new Float64Array(n);
    this.firstSec = new Float64Array(n);
    this.lastSec = new Float64Array(n);
    this.count = new Float64Array(n);
    this.firstNsec = new Int32Array(n);
    this.lastNsec = new Int32Array(n);
    this.precision = new Uint8Array(n);
    for (let j = 0; j < old.keys.length; j++) {
      const k = old.keys[j]!;
      if (k === 0) continue;
      const i = this.slot(k);
      this.keys[i] = k;
      this.firstSec[i] = old.firstSec[j]!;
      this.lastSec[i] = old.lastSec[j]!;
      this.count[i] = old.count[j]!;
      this.firstNsec[i] = old.firstNsec[j]!;
      this.lastNsec[i] = old.lastNsec[j]!;
      this.precision[i] = old.precision[j]!;
    }
  }
}
