/**
 * The C fast path of the SIP parser (native/sip/sip_parse.c), built by npm install when a
 * compiler is there. It parses messages with nothing wrong in them and writes byte offsets to
 * one shared Int32Array; for anything the JavaScript parser would count as an anomaly it
 * answers "slow" and parser.ts parses the message itself. Without the binding (no compiler at
 * install, or STALEPIN_SIP_PARSER=js) every message takes the JavaScript parser: the results
 * are the same, only slower (test/sip/native-parser.test.ts holds the two to that).
 */
import { createRequire } from 'node:module';
import { SIP_LIMITS } from './message.js';

/** Slots of the output array; mirrors the enum at the top of sip_parse.c. */
export const enum Out {
  Status = 0,
  IsRequest,
  MethodS,
  MethodE,
  StatusCode,
  CallIdS,
  CallIdE,
  CSeqNum,
  CSeqMs,
  CSeqMe,
  FromTagS,
  FromTagE,
  ToTagS,
  ToTagE,
  MaxForwards,
  ContentLength,
  BodyOff,
  BodyLen,
  HeaderCount,
  ViaCount,
  ContactLines,
  CallIdCode,
  FromTagCode,
  ToTagCode,
  Spans = 24,
  Contacts = Spans + 22,
  /** Per header: name start, end, value start, end. */
  HSpans = Contacts + 32,
  Via = HSpans + 4 * 256,
  ViaInts = 13,
  Size = Via + 32 * ViaInts,
}

/** Words dissect() packs into a handoff record at most (see HANDOFF_MAX in sip_parse.c). */
export const HANDOFF_MAX = Out.HSpans + 4 * 256 + 32 * Out.ViaInts;

/** An intern code with this bit: the slot holds these bytes already (sip_parse.c, intern()). */
export const CODE_HIT = 0x10000;
export const INTERN_SLOTS = 8192;

/** parse() results. */
export const NATIVE_OK = 0;
export const NATIVE_SLOW = 3;

/**
 * The dissector's recent-message slots (see dissect() in sip_parse.c): a header of RECENT
 * int32 message lengths (-1: empty) and the next slot's number, then RECENT slots of SLOT_CAP
 * bytes, then RECENT output arrays of Out.Size int32 (a slot's parse results), in one
 * Uint8Array per dissector.
 */
export const RECENT = 16;
export const SLOT_CAP = 65536;
export const SLOTS_HEAD = 128;
export const SLOTS_OUT = SLOTS_HEAD + RECENT * SLOT_CAP;
export const SLOTS_BYTES = SLOTS_OUT + RECENT * Out.Size * 4;

/** What dissect() did, in the bits above the slot number. */
export const enum Dissected {
  /** The slot holds these very bytes: its record is the message's. */
  Same = 0,
  /** Copied into the slot and parsed: results in the slot's output array (slotOutput). */
  Parsed = 1,
  /** Copied into the slot; the JavaScript parser must parse it. */
  Slow = 2,
  /** Empty, too large for a slot, or out of range: the slot is emptied, the bytes are parsed where they are. */
  NotKept = 3,
}

interface Binding {
  parse(bytes: Uint8Array, off: number, len: number): number;
  dissect(bytes: Uint8Array, off: number, len: number, slots: Uint8Array, to?: Uint8Array, at?: number): number;
  setOutput(out: Int32Array): void;
  handoffMax?(): number;
  outputSize(): number;
  slotsSize(): number;
  /** Slots of the C side's intern table (INTERN_SLOTS here). */
  internSlots(): number;
  unintern?(slots: Uint8Array, slot: number): void;
  bindHandoff?(slots: Uint8Array, to: Uint8Array): void;
  dissectInto?(bytes: Uint8Array, off: number, len: number, at: number): number;
}

export interface NativeSipParser {
  /** NATIVE_OK (results in `out`) or NATIVE_SLOW (the JavaScript parser must do it). */
  parse(bytes: Uint8Array, off: number, len: number): number;
  /**
   * Compare with the dissector's recent messages in `slots` (SLOTS_BYTES, made by newSlots),
   * else copy into the next slot and parse there: slot | Dissected << 8. With `to` and `at`
   * (4-aligned, HANDOFF_MAX words and `len` bytes of room), a message copied into a slot is also
   * written there, its results packed, for a split run (see sip/handoff.ts): the number of
   * words written is then above bit 10 of the result.
   */
  dissect(bytes: Uint8Array, off: number, len: number, slots: Uint8Array, to?: Uint8Array, at?: number): number;
  /**
   * Empty the intern-table entries that the parse of slot `slot` filled, for a message whose
   * strings JavaScript will never make (see HandoffWriter.ignorable in sip/handoff.ts).
   */
  unintern(slots: Uint8Array, slot: number): void;
  /**
   * The slots and record array of a split run's reading thread (kept alive by the caller), for
   * dissectInto(): dissect(bytes, off, len, slots, to, at) without passing the two each time.
   */
  bindHandoff(slots: Uint8Array, to: Uint8Array): void;
  dissectInto(bytes: Uint8Array, off: number, len: number, at: number): number;
  /** Whose arrays bindHandoff() was given last (the C side holds one pair per environment). */
  handoffOwner: object | undefined;
  /** The results of the last parse that returned NATIVE_OK. */
  readonly out: Int32Array;
  /**
   * The strings of the C side's intern table, by slot (see nativeText in parser.ts). Emptied
   * with the C side's table whenever the binding is set up.
   */
  readonly strings: string[];
}

/**
 * The C side keeps one output array and one intern table per Node environment, so every copy of
 * this module in the environment (a test runner may load it more than once) must share one
 * NativeSipParser: a second setOutput would leave the first copy reading an array C no longer
 * writes. Kept on `process`, which is per environment.
 */
const SHARED = Symbol.for('stalepin.sip.native-parser');
type Holder = { [SHARED]?: NativeSipParser | null };

function load(): NativeSipParser | null {
  if (process.env.STALEPIN_SIP_PARSER === 'js') return null;
  let binding: Binding;
  try {
    binding = createRequire(import.meta.url)('../../native/sip/build/Release/stalepin_sip.node') as Binding;
  } catch {
    return null;
  }
  // A binding from another version of this file would write to the wrong slots.
  // handoffMax came with the layout of header spans in fours, the handoff calls later: a
  // binding built before either has not got them.
  const { unintern, bindHandoff, dissectInto } = binding;
  if (binding.outputSize() !== Out.Size || binding.slotsSize() !== SLOTS_BYTES || binding.internSlots() !== INTERN_SLOTS || binding.handoffMax?.() !== HANDOFF_MAX) return null;
  if (unintern === undefined || bindHandoff === undefined || dissectInto === undefined) return null;
  // The layout holds SIP_LIMITS' counts; were they changed without sip_parse.c, C would not enforce them.
  if (Out.Via - Out.HSpans !== SIP_LIMITS.maxHeaders * 4 || Out.Size - Out.Via !== SIP_LIMITS.maxViaHops * Out.ViaInts || Out.HSpans - Out.Contacts !== SIP_LIMITS.maxContactLines * 2) return null;
  // Held by the environment (see SHARED): the C side keeps a pointer into this array.
  const out = new Int32Array(Out.Size);
  binding.setOutput(out);
  return { parse: binding.parse, dissect: binding.dissect, unintern, bindHandoff, dissectInto, handoffOwner: undefined, out, strings: new Array<string>(INTERN_SLOTS).fill('') };
}

/** A dissector's empty slots for dissect(). */
export function newSlots(): Uint8Array {
  const slots = new Uint8Array(SLOTS_BYTES);
  new Int32Array(slots.buffer, 0, RECENT).fill(-1);
  return slots;
}

/** The bytes of slot i (made by newSlots). */
export function slotBytes(slots: Uint8Array, i: number): Uint8Array {
  return slots.subarray(SLOTS_HEAD + i * SLOT_CAP, SLOTS_HEAD + (i + 1) * SLOT_CAP);
}

/** The output array of slot i: where dissect() writes the results of parsing its bytes. */
export function slotOutput(slots: Uint8Array, i: number): Int32Array {
  return new Int32Array(slots.buffer, slots.byteOffset + SLOTS_OUT + i * Out.Size * 4, Out.Size);
}

/** The binding, or undefined when it is not built or STALEPIN_SIP_PARSER=js turns it off. */
export function nativeSipParser(): NativeSipParser | undefined {
  const holder = process as unknown as Holder;
  let p = holder[SHARED];
  if (p === undefined) p = holder[SHARED] = load();
  return p ?? undefined;
}

/** Which parser does the work: for the bench's header and the tests. */
export function sipParserKind(): 'c' | 'js' {
  return nativeSipParser() === undefined ? 'js' : 'c';
}
