/**
 * Small readers for what the lab records: conntrack dumps (text forms and XML) and sipp's
 * message logs. They exist so truth.json is derived from what the kernel and the user agents
 * actually did, and so the structural tests can check it again from the committed files.
 * (The product's own conntrack reader lives in src/conntrack/; this one only needs tuples.)
 */

export interface CtTuple {
  src: string;
  dst: string;
  sport: number;
  dport: number;
}

export interface CtEntry {
  l3: string; // ipv4 | ipv6 | '' when the form does not say
  proto: string; // udp | tcp | icmp ...
  state: string; // TCP state or ''
  orig: CtTuple;
  reply: CtTuple;
  flags: string[]; // ASSURED, UNREPLIED ...
  id: number | undefined;
  line: number;
}

const HEAD = /^(?:(ipv4|ipv6)\s+\d+\s+)?([a-z0-9]+)\s+\d+\s+(?:\d+\s+)?([A-Z_]+\s+)?/;

/**
 * Default, `-o extended[,id]`, `-o ktimestamp` and /proc/net/nf_conntrack lines. Entries whose
 * tuples carry no ports (icmp) are skipped: the lab only asks about UDP and TCP flows.
 */
export function parseConntrackText(text: string): CtEntry[] {
  const out: CtEntry[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith('conntrack v')) continue;
    const h = HEAD.exec(line);
    if (!h) continue;
    const tuples: Partial<CtTuple>[] = [];
    let useSeen = false;
    let id: number | undefined;
    for (const m of line.matchAll(/([a-z][a-z0-9_-]*)=(\S+)/g)) {
      const k = m[1]!;
      const v = m[2]!;
      if (k === 'use') useSeen = true;
      else if (k === 'id' && useSeen) id = Number(v);
      else if (k === 'src') tuples.push({ src: v });
      else if (tuples.length > 0) {
        const t = tuples[tuples.length - 1]!;
        if (k === 'dst' && t.dst === undefined) t.dst = v;
        else if (k === 'sport' && t.sport === undefined) t.sport = Number(v);
        else if (k === 'dport' && t.dport === undefined) t.dport = Number(v);
      }
    }
    const [o, r] = tuples;
    if (!o || !r || o.sport === undefined || r.sport === undefined) continue;
    const flags = [...line.matchAll(/\[([A-Z_]+)\]/g)].map((m) => m[1]!);
    out.push({
      l3: h[1] ?? '',
      proto: h[2]!,
      state: (h[3] ?? '').trim(),
      orig: o as CtTuple,
      reply: r as CtTuple,
      flags,
      id,
      line: i + 1,
    });
  }
  return out;
}

/** `conntrack -L -o xml`: one <flow> per entry, <meta direction="original|reply|independent">. */
export function parseConntrackXml(text: string): CtEntry[] {
  const out: CtEntry[] = [];
  let n = 0;
  for (const flow of text.matchAll(/<flow>([\s\S]*?)<\/flow>/g)) {
    n++;
    const body = flow[1]!;
    const dir = (d: string): { l3: string; proto: string; t: CtTuple } | undefined => {
      const m = new RegExp(`<meta direction="${d}">([\\s\\S]*?)</meta>`).exec(body);
      if (!m) return undefined;
      const b = m[1]!;
      const l3 = /<layer3 [^>]*protoname="([a-z0-9]+)"/.exec(b)?.[1] ?? '';
      const proto = /<layer4 [^>]*protoname="([a-z0-9]+)"/.exec(b)?.[1] ?? '';
      const get = (tag: string): string | undefined => new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(b)?.[1];
      const sport = get('sport');
      const dport = get('dport');
      if (sport === undefined || dport === undefined) return undefined;
      return { l3, proto, t: { src: get('src') ?? '', dst: get('dst') ?? '', sport: Number(sport), dport: Number(dport) } };
    };
    const o = dir('original');
    const r = dir('reply');
    if (!o || !r) continue;
    const ind = /<meta direction="independent">([\s\S]*?)<\/meta>/.exec(body)?.[1] ?? '';
    const flags: string[] = [];
    if (/<assured\s*\/>/.test(ind)) flags.push('ASSURED');
    if (/<unreplied\s*\/>/.test(ind)) flags.push('UNREPLIED');
    const id = /<id>(\d+)<\/id>/.exec(ind)?.[1];
    const state = /<state>([^<]*)<\/state>/.exec(ind)?.[1] ?? '';
    out.push({ l3: o.l3, proto: o.proto, state, orig: o.t, reply: r.t, flags, id: id === undefined ? undefined : Number(id), line: n });
  }
  return out;
}

export interface SippMessage {
  /** Wall-clock time sipp logged, as epoch nanoseconds (sipp runs with TZ=UTC). */
  timeNs: bigint;
  dir: 'sent' | 'received';
  transport: string;
  startLine: string;
  method: string; // request method, or the CSeq method of a response
  status: number | undefined;
  callId: string;
  cseq: string;
  /** Via sent-by host and port of the top Via. */
  viaHost: string;
  viaPort: number | undefined;
}

const BLOCK = /^-{20,} (\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d)\.(\d{6})\s*$/;
const KIND = /^(UDP|TCP|TLS|SCTP) message (sent|received)/;

/** sipp -trace_msg log: blocks introduced by a dashed line with the time, then the message. */
export function parseSippMessages(text: string): SippMessage[] {
  const out: SippMessage[] = [];
  const lines = text.split('\n');
  let i = 0;
  while (i < lines.length) {
    const b = BLOCK.exec(lines[i]!);
    if (!b) {
      i++;
      continue;
    }
    const ms = Date.parse(`${b[1]}T${b[2]}Z`);
    const timeNs = BigInt(ms) * 1_000_000n + BigInt(b[3]!) * 1000n;
    i++;
    const k = KIND.exec(lines[i] ?? '');
    if (!k) continue;
    i++;
    const msg: string[] = [];
    while (i < lines.length && !BLOCK.test(lines[i]!)) msg.push(lines[i++]!);
    const body = msg.map((l) => l.replace(/\r$/, ''));
    const startIdx = body.findIndex((l) => l.trim() !== '');
    const start = startIdx < 0 ? '' : body[startIdx]!.trim();
    const header = (name: string): string => {
      const re = new RegExp(`^${name}\\s*:\\s*(.*)$`, 'i');
      for (let j = startIdx + 1; startIdx >= 0 && j < body.length; j++) {
        const l = body[j]!;
        if (l === '') break;
        const m = re.exec(l);
        if (m) return m[1]!.trim();
      }
      return '';
    };
    const cseq = header('CSeq');
    const status = /^SIP\/2\.0 (\d{3})/.exec(start);
    const via = /^SIP\/2\.0\/\S+\s+(\[[^\]]+\]|[^:;\s]+)(?::(\d+))?/.exec(header('Via'));
    out.push({
      timeNs,
      dir: k[2] as 'sent' | 'received',
      transport: k[1]!,
      startLine: start,
      method: status ? (cseq.split(/\s+/)[1] ?? '') : (start.split(' ')[0] ?? ''),
      status: status ? Number(status[1]) : undefined,
      callId: header('Call-ID'),
      cseq,
      viaHost: via ? via[1]!.replace(/^\[|\]$/g, '') : '',
      viaPort: via?.[2] === undefined ? undefined : Number(via[2]),
    });
  }
  return out;
}
