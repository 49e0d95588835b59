/**
 * `conntrack -L -o save`: one conntrack command line per entry, e.g.
 *   -A -t 26 -u SEEN_REPLY -w 7 -s 192.0.2.10 -d 203.0.113.10 -g 198.51.100.20 -q 192.0.2.10
 *      -p udp --sport 5062 --dport 5062 --reply-port-src 5060 --reply-port-dst 5062
 * -g/-n are printed instead of -r/-q when the kernel marked the entry DNAT/SNAT; either way they
 * are the reply tuple's source and destination. The format has no counters, mark, id or times,
 * and names only the SEEN_REPLY/ASSURED/FIXED_TIMEOUT/EXPECTED status bits ("UNSET" for none).
 */
import { canonical } from './addr.js';
import { protoName, protoNumber, type ConntrackEntry } from './entry.js';

export function isSaveLine(s: string): boolean {
  return /^\s*-[AUDI]\s/.test(s);
}

/** Parse one save-format line into `e`; returns '' or the reason it is not one. */
export function parseSaveLine(s: string, e: ConntrackEntry): string {
  e.reset();
  const w = s.trim().split(/\s+/);
  const cmd = w[0];
  if (cmd === '-U') e.event = 'update';
  else if (cmd === '-D') e.event = 'destroy';
  else if (cmd !== '-A' && cmd !== '-I') return 'not a save-format line';
  let status: string[] | undefined;
  for (let i = 1; i < w.length; i++) {
    const opt = w[i]!;
    const val = w[i + 1];
    const take = (): string | undefined => {
      i++;
      return val;
    };
    const int = (): number => {
      const v = take();
      if (v === undefined || !/^(\d+|0x[0-9a-f]+)$/i.test(v)) return Number.NaN;
      return Number(v);
    };
    const ip = (): string | undefined => {
      const v = take();
      return v === undefined ? undefined : canonical(v);
    };
    let bad = false;
    switch (opt) {
      case '-t':
      case '--timeout':
        e.timeout = int();
        bad = Number.isNaN(e.timeout);
        break;
      case '-u':
      case '--status':
        status = (take() ?? '').split(',');
        break;
      case '-c':
      case '--secmark':
        e.secmark = int();
        bad = Number.isNaN(e.secmark);
        break;
      case '-m':
      case '--mark':
        e.mark = int();
        bad = Number.isNaN(e.mark);
        break;
      case '-w':
      case '--zone':
        e.zone = int();
        bad = Number.isNaN(e.zone);
        break;
      case '--orig-zone':
        e.zoneOrig = int();
        bad = Number.isNaN(e.zoneOrig);
        break;
      case '--reply-zone':
        e.zoneReply = int();
        bad = Number.isNaN(e.zoneReply);
        break;
      case '-l':
      case '--label':
        e.labels = take() ?? '';
        break;
      case '-s':
      case '--src':
      case '--orig-src': {
        const v = ip();
        bad = v === undefined;
        e.orig.src = v ?? '';
        break;
      }
      case '-d':
      case '--dst':
      case '--orig-dst': {
        const v = ip();
        bad = v === undefined;
        e.orig.dst = v ?? '';
        break;
      }
      case '-r':
      case '-g':
      case '--reply-src':
      case '--dst-nat': {
        const v = ip();
        bad = v === undefined;
        e.reply.src = v ?? '';
        break;
      }
      case '-q':
      case '-n':
      case '--reply-dst':
      case '--src-nat': {
        const v = ip();
        bad = v === undefined;
        e.reply.dst = v ?? '';
        break;
      }
      case '-p':
      case '--proto': {
        const v = take() ?? '';
        if (/^\d+$/.test(v)) {
          e.protoNum = Number(v);
          e.proto = protoName(e.protoNum);
        } else {
          e.proto = v.toLowerCase();
          e.protoNum = protoNumber(v);
        }
        bad = e.protoNum < 0 || e.protoNum > 255;
        break;
      }
      case '-f':
      case '--family':
        e.family = take() ?? '';
        break;
      case '--sport':
      case '--orig-port-src':
        e.orig.sport = int();
        bad = Number.isNaN(e.orig.sport);
        break;
      case '--dport':
      case '--orig-port-dst':
        e.orig.dport = int();
        bad = Number.isNaN(e.orig.dport);
        break;
      case '--reply-port-src':
        e.reply.sport = int();
        bad = Number.isNaN(e.reply.sport);
        break;
      case '--reply-port-dst':
        e.reply.dport = int();
        bad = Number.isNaN(e.reply.dport);
        break;
      case '--state':
        e.state = take() ?? '';
        break;
      case '--icmp-type':
      case '--icmpv6-type':
        e.orig.icmpType = int();
        break;
      case '--icmp-code':
      case '--icmpv6-code':
        e.orig.icmpCode = int();
        break;
      case '--icmp-id':
      case '--icmpv6-id':
        e.orig.icmpId = int();
        break;
      case '--srckey':
        e.orig.srcKey = int();
        break;
      case '--dstkey':
        e.orig.dstKey = int();
        break;
      case '--orig-vtag':
      case '--reply-vtag':
      case '--helper':
      case '--tuple-src':
      case '--tuple-dst':
        take();
        break;
      default:
        if (opt.startsWith('--') && val !== undefined && !val.startsWith('-')) i++;
        break;
    }
    if (bad) return `bad value for ${opt}`;
  }
  if (!e.proto) return 'no -p protocol';
  if (!e.orig.src || !e.orig.dst || !e.reply.src || !e.reply.dst) return 'missing address';
  const seen = status?.includes('SEEN_REPLY') ?? false;
  e.unreplied = status !== undefined && !seen;
  e.assured = status?.includes('ASSURED') ?? false;
  e.offload = (status?.includes('OFFLOAD') || status?.includes('HW_OFFLOAD')) ?? false;
  e.hwOffload = status?.includes('HW_OFFLOAD') ?? false;
  if (e.family !== 'ipv4' && e.family !== 'ipv6') e.family = e.orig.src.includes(':') ? 'ipv6' : 'ipv4';
  return '';
}
