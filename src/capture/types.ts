/**
 * What the capture stage hands to decoding: one frame at a time, in a record the reader owns
 * and refills (DESIGN principle 1). `buf` is a view the reader may overwrite on its next call,
 * so a consumer that keeps bytes must copy them.
 */
export interface Frame {
  /** Timestamp: whole seconds since the epoch, and nanoseconds within that second. */
  sec: number;
  nsec: number;
  /** Fractional digits the source really has (6 for usec pcap, 9 for nsec, if_tsresol for pcapng). */
  precision: number;
  /** Global interface index across all inputs of one run (see CaptureInterface.index). */
  ifIndex: number;
  /** Link-layer type (LINKTYPE_* value) of that interface. */
  linkType: number;
  /** Bytes of the frame are buf[off, off + capLen). */
  buf: Uint8Array;
  off: number;
  capLen: number;
  /** Length on the wire (may exceed capLen when the snap length cut it). */
  origLen: number;
  /** Index of the input in the list given to the merger (0 for a single input). */
  source: number;
  /** Byte offset of this record's header in the (decompressed) input stream. */
  recordOffset: number;
}

export function newFrame(): Frame {
  return {
    sec: 0,
    nsec: 0,
    precision: 6,
    ifIndex: 0,
    linkType: 1,
    buf: new Uint8Array(0),
    off: 0,
    capLen: 0,
    origLen: 0,
    source: 0,
    recordOffset: 0,
  };
}

export type CaptureFormat = 'pcap' | 'pcapng';

/** One interface of one input: a classic pcap file has exactly one, a pcapng file one per IDB per section. */
export interface CaptureInterface {
  /** Global index (Frame.ifIndex). */
  index: number;
  /** Input (Frame.source) it belongs to. */
  source: number;
  /** pcapng section number (0-based) and interface id within it; 0/0 for classic pcap. */
  section: number;
  localId: number;
  linkType: number;
  snapLen: number;
  /** Fractional digits of its timestamps. */
  precision: number;
  name?: string;
  description?: string;
  packets: number;
  bytes: number;
}

/** What a reader found out about one input file. */
export interface CaptureInfo {
  /** The path as given (or "-" for stdin). */
  file: string;
  format: CaptureFormat;
  /** "le" or "be" (of the first section for pcapng). */
  byteOrder: 'le' | 'be';
  gzip: boolean;
  /** pcap: the file's version; pcapng: of the first section. */
  version: string;
  sections: number;
  bytesRead: number;
  /** Total size when known (regular files), for progress. */
  sizeHint?: number;
}
