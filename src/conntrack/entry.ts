/**
 * One normalised connection-tracking entry, whatever the source format (conntrack -L in any
 * output mode, /proc/net/nf_conntrack, conntrack -E events, XML, save format, IPVS tables).
 *
 * The tracker's view of a pinned flow: the original tuple is the client talking to the
 * service address; the reply tuple's source is where the tracker sends the flow (the backend
 * after DNAT). Parsers fill one reused ConntrackEntry per line and hand it to a callback;
 * a consumer that keeps entries calls `clone()`. Absent numbers are -1, absent strings ''.
 */
import { formatEndpoint } from '../core/address.js';
import { formatIso } from '../core/time.js';

export type ConntrackFormat =
  | 'default' // conntrack -L [-o id,ktimestamp,labels]
  | 'extended' // conntrack -L -o extended (the "ipv4 2" prefix)
  | 'proc' // /proc/net/nf_conntrack
  | 'events' // conntrack -E, with or without -o timestamp, id, extended
  | 'save' // conntrack -L -o save (-A/-U/-D command lines)
  | 'xml' // conntrack -L -o xml
  | 'xml-events' // conntrack -E -o xml
  | 'ipvs' // ipvsadm -Lnc
  | 'ipvs-proc'; // /proc/net/ip_vs_conn

export type EventType = '' | 'new' | 'update' | 'destroy';

/** One direction of a flow. Ports are -1 for protocols without them; icmp fields -1 unless icmp. */
export class Tuple {
  src = '';
  dst = '';
  sport = -1;
  dport = -1;
  icmpType = -1;
  icmpCode = -1;
  icmpId = -1;
  /** GRE keys (-1 when absent). */
  srcKey = -1;
  dstKey = -1;
  packets = -1;
  bytes = -1;

  reset(): void {
    this.src = '';
    this.dst = '';
    this.sport = -1;
    this.dport = -1;
    this.icmpType = -1;
    this.icmpCode = -1;
    this.icmpId = -1;
    this.srcKey = -1;
    this.dstKey = -1;
    this.packets = -1;
    this.bytes = -1;
  }

  copyFrom(o: Tuple): void {
    this.src = o.src;
    this.dst = o.dst;
    this.sport = o.sport;
    this.dport = o.dport;
    this.icmpType = o.icmpType;
    this.icmpCode = o.icmpCode;
    this.icmpId = o.icmpId;
    this.srcKey = o.srcKey;
    this.dstKey = o.dstKey;
    this.packets = o.packets;
    this.bytes = o.bytes;
  }
}

/** IP protocol names as conntrack prints them, for number <-> name. */
const PROTO_NAMES: Record<number, string> = {
  1: 'icmp',
  2: 'igmp',
  6: 'tcp',
  17: 'udp',
  33: 'dccp',
  41: 'ipv6',
  47: 'gre',
  58: 'icmpv6',
  132: 'sctp',
  136: 'udplite',
};
const PROTO_NUMBERS: Record<string, number> = {};
for (const [n, name] of Object.entries(PROTO_NAMES)) PROTO_NUMBERS[name] = Number(n);

export function protoName(num: number): string {
  return PROTO_NAMES[num] ?? 'unknown';
}

export function protoNumber(name: string): number {
  return PROTO_NUMBERS[name.toLowerCase()] ?? -1;
}

export class ConntrackEntry {
  /** Event type for event streams; '' for a table entry. */
  event: EventType = '';
  /** 'ipv4' | 'ipv6' (from the addresses when the format does not say). */
  family = '';
  /** Protocol name as printed ('udp', 'tcp', 'unknown' for generic) and its number. */
  proto = '';
  protoNum = -1;
  /** tcp/sctp/dccp state name ('' when the protocol has none or the format omits it). */
  state = '';
  /** Seconds until the entry expires; -1 when not shown (offloaded entries, DESTROY events). */
  timeout = -1;
  readonly orig = new Tuple();
  readonly reply = new Tuple();
  unreplied = false;
  assured = false;
  offload = false;
  hwOffload = false;
  mark = -1;
  secmark = -1;
  secctx = '';
  zone = -1;
  zoneOrig = -1;
  zoneReply = -1;
  helper = '';
  use = -1;
  /** Conntrack id (-o id); -1 when absent. */
  id = -1;
  /** Connection labels, comma separated as conntrack prints them. */
  labels = '';
  /** Age in seconds (delta-time=); -1 when absent. */
  deltaSec = -1;
  /** Start/stop from the kernel's timestamp extension; sec -1 when unknown. */
  startSec = -1;
  startNsec = 0;
  startPrecision = 0;
  stopSec = -1;
  stopNsec = 0;
  stopPrecision = 0;
  /** Event time for event streams (-o timestamp or XML <when>); sec -1 when absent. */
  timeSec = -1;
  timeNsec = 0;
  timePrecision = 0;
  /** [USERSPACE] suffix: the netlink port id and program that caused the event. */
  portid = -1;
  progname = '';
  /** IPVS only: connection state text and forwarding details live in `state`. */
  /** 1-based line in the source (the first line of an XML flow). */
  line = 0;

  reset(): void {
    this.event = '';
    this.family = '';
    this.proto = '';
    this.protoNum = -1;
    this.state = '';
    this.timeout = -1;
    this.orig.reset();
    this.reply.reset();
    this.unreplied = false;
    this.assured = false;
    this.offload = false;
    this.hwOffload = false;
    this.mark = -1;
    this.secmark = -1;
    this.secctx = '';
    this.zone = -1;
    this.zoneOrig = -1;
    this.zoneReply = -1;
    this.helper = '';
    this.use = -1;
    this.id = -1;
    this.labels = '';
    this.deltaSec = -1;
    this.startSec = -1;
    this.startNsec = 0;
    this.startPrecision = 0;
    this.stopSec = -1;
    this.stopNsec = 0;
    this.stopPrecision = 0;
    this.timeSec = -1;
    this.timeNsec = 0;
    this.timePrecision = 0;
    this.portid = -1;
    this.progname = '';
    this.line = 0;
  }

  clone(): ConntrackEntry {
    const c = new ConntrackEntry();
    c.copyFrom(this);
    return c;
  }

  copyFrom(o: ConntrackEntry): void {
    this.event = o.event;
    this.family = o.family;
    this.proto = o.proto;
    this.protoNum = o.protoNum;
    this.state = o.state;
    this.timeout = o.timeout;
    this.orig.copyFrom(o.orig);
    this.reply.copyFrom(o.reply);
    this.unreplied = o.unreplied;
    this.assured = o.assured;
    this.offload = o.offload;
    this.hwOffload = o.hwOffload;
    this.mark = o.mark;
    this.secmark = o.secmark;
    this.secctx = o.secctx;
    this.zone = o.zone;
    this.zoneOrig = o.zoneOrig;
    this.zoneReply = o.zoneReply;
    this.helper = o.helper;
    this.use = o.use;
    this.id = o.id;
    this.labels = o.labels;
    this.deltaSec = o.deltaSec;
    this.startSec = o.startSec;
    this.startNsec = o.startNsec;
    this.startPrecision = o.startPrecision;
    this.stopSec = o.stopSec;
    this.stopNsec = o.stopNsec;
    this.stopPrecision = o.stopPrecision;
    this.timeSec = o.timeSec;
    this.timeNsec = o.timeNsec;
    this.timePrecision = o.timePrecision;
    this.portid = o.portid;
    this.progname = o.progname;
    this.line = o.line;
  }

  /** The client: the original direction's source. */
  get client(): string {
    return endpoint(this.orig.src, this.orig.sport);
  }

  /** The service address the client sent to: the original destination. */
  get service(): string {
    return endpoint(this.orig.dst, this.orig.dport);
  }

  /** Where the tracker sends the flow: the reply source (the backend after DNAT). */
  get target(): string {
    return endpoint(this.reply.src, this.reply.sport);
  }

  /** The destination was rewritten (DNAT): the reply does not come from the service address. */
  get dnat(): boolean {
    return this.reply.src !== this.orig.dst || this.reply.sport !== this.orig.dport;
  }

  /** The source was rewritten too (SNAT/masquerade): the reply is not addressed to the client. */
  get snat(): boolean {
    return this.reply.dst !== this.orig.src || this.reply.dport !== this.orig.sport;
  }

  /** Whether the entry carries a flag by its CLI name. */
  hasFlag(flag: string): boolean {
    switch (flag) {
      case 'unreplied':
        return this.unreplied;
      case 'replied':
      case 'seen_reply':
        return !this.unreplied;
      case 'assured':
        return this.assured;
      case 'offload':
        return this.offload;
      case 'hw_offload':
        return this.hwOffload;
      case 'snat':
        return this.snat;
      case 'dnat':
        return this.dnat;
      default:
        return false;
    }
  }
}

export const FLAG_NAMES = ['unreplied', 'replied', 'assured', 'offload', 'hw_offload', 'snat', 'dnat'] as const;

function endpoint(ip: string, port: number): string {
  if (ip === '') return '';
  return port >= 0 ? formatEndpoint(ip, port) : ip.includes(':') ? `[${ip}]` : ip;
}

export interface TupleJson {
  src: string;
  dst: string;
  sport?: number;
  dport?: number;
  icmpType?: number;
  icmpCode?: number;
  icmpId?: number;
  srcKey?: number;
  dstKey?: number;
  packets?: number;
  bytes?: number;
}

/** The stable JSON shape of an entry (fields the source lacks are left out). */
export interface EntryJson {
  event?: EventType;
  family: string;
  proto: string;
  protoNum: number;
  state?: string;
  timeout?: number;
  client: string;
  service: string;
  target: string;
  dnat: boolean;
  snat: boolean;
  flags: string[];
  orig: TupleJson;
  reply: TupleJson;
  mark?: number;
  secmark?: number;
  secctx?: string;
  zone?: number;
  zoneOrig?: number;
  zoneReply?: number;
  helper?: string;
  use?: number;
  id?: number;
  labels?: string[];
  deltaSec?: number;
  start?: string;
  stop?: string;
  time?: string;
  portid?: number;
  progname?: string;
  file?: string;
  line?: number;
}

function tupleJson(t: Tuple): TupleJson {
  const j: TupleJson = { src: t.src, dst: t.dst };
  if (t.sport >= 0) j.sport = t.sport;
  if (t.dport >= 0) j.dport = t.dport;
  if (t.icmpType >= 0) j.icmpType = t.icmpType;
  if (t.icmpCode >= 0) j.icmpCode = t.icmpCode;
  if (t.icmpId >= 0) j.icmpId = t.icmpId;
  if (t.srcKey >= 0) j.srcKey = t.srcKey;
  if (t.dstKey >= 0) j.dstKey = t.dstKey;
  if (t.packets >= 0) j.packets = t.packets;
  if (t.bytes >= 0) j.bytes = t.bytes;
  return j;
}

export function entryFlags(e: ConntrackEntry): string[] {
  const f: string[] = [];
  if (e.unreplied) f.push('unreplied');
  if (e.assured) f.push('assured');
  if (e.offload) f.push('offload');
  if (e.hwOffload) f.push('hw_offload');
  return f;
}

export function entryToJson(e: ConntrackEntry, file?: string): EntryJson {
  const j: EntryJson = {
    family: e.family,
    proto: e.proto,
    protoNum: e.protoNum,
    client: e.client,
    service: e.service,
    target: e.target,
    dnat: e.dnat,
    snat: e.snat,
    flags: entryFlags(e),
    orig: tupleJson(e.orig),
    reply: tupleJson(e.reply),
  };
  if (e.event) j.event = e.event;
  if (e.state) j.state = e.state;
  if (e.timeout >= 0) j.timeout = e.timeout;
  if (e.mark >= 0) j.mark = e.mark;
  if (e.secmark >= 0) j.secmark = e.secmark;
  if (e.secctx) j.secctx = e.secctx;
  if (e.zone >= 0) j.zone = e.zone;
  if (e.zoneOrig >= 0) j.zoneOrig = e.zoneOrig;
  if (e.zoneReply >= 0) j.zoneReply = e.zoneReply;
  if (e.helper) j.helper = e.helper;
  if (e.use >= 0) j.use = e.use;
  if (e.id >= 0) j.id = e.id;
  if (e.labels) j.labels = e.labels.split(',');
  if (e.deltaSec >= 0) j.deltaSec = e.deltaSec;
  if (e.startSec >= 0) j.start = formatIso(e.startSec, e.startNsec, e.startPrecision);
  if (e.stopSec >= 0) j.stop = formatIso(e.stopSec, e.stopNsec, e.stopPrecision);
  if (e.timeSec >= 0) j.time = formatIso(e.timeSec, e.timeNsec, e.timePrecision);
  if (e.portid >= 0) j.portid = e.portid;
  if (e.progname) j.progname = e.progname;
  if (file !== undefined) j.file = file;
  if (e.line > 0) j.line = e.line;
  return j;
}
