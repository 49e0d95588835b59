/**
 * `conntrack -L -o xml` and `conntrack -E -o xml`: one <flow> element per entry, as written by
 * libnetfilter_conntrack's XML printer:
 *   <flow [type="new|update|destroy"]>
 *     <meta direction="original|reply"><layer3 protonum= protoname=><src/><dst/></layer3>
 *       <layer4 protonum= protoname=><sport/><dport/></layer4>[<zone/>][<counters>...]</meta>
 *     <meta direction="independent"><state/><timeout/><mark/><labels/><secmark/><secctx/><zone/>
 *       <use/><id/><assured/><unreplied/><timestamp><start/><stop/></timestamp><deltatime/></meta>
 *     [<when>local broken-down time</when>] [<helper/>]
 *   </flow> [ [USERSPACE] portid=N progname=X]
 * The collector is fed line by line and holds one flow at a time (bounded), so a dump of a
 * million flows streams like the text forms. It is a reader for this printer's output, not a
 * general XML parser: no entities beyond the five predefined ones, no CDATA.
 */
import { canonical } from './addr.js';
import type { ConntrackEntry, Tuple } from './entry.js';

/** A flow longer than this is not conntrack output. */
export const MAX_FLOW_CHARS = 64 * 1024;

/**
 * libnetfilter_conntrack prints an SCTP or DCCP state through the TCP state-name table, so an
 * SCTP entry in CLOSED state shows as SYN_SENT. Map the TCP name back by its index.
 */
const TCP_STATES = ['NONE', 'SYN_SENT', 'SYN_RECV', 'ESTABLISHED', 'FIN_WAIT', 'CLOSE_WAIT', 'LAST_ACK', 'TIME_WAIT', 'CLOSE', 'SYN_SENT2'];
const SCTP_STATES = ['NONE', 'CLOSED', 'COOKIE_WAIT', 'COOKIE_ECHOED', 'ESTABLISHED', 'SHUTDOWN_SENT', 'SHUTDOWN_RECD', 'SHUTDOWN_ACK_SENT', 'HEARTBEAT_SENT', 'HEARTBEAT_ACKED'];
const DCCP_STATES = ['NONE', 'REQUEST', 'RESPOND', 'PARTOPEN', 'OPEN', 'CLOSEREQ', 'CLOSING', 'TIMEWAIT', 'IGNORE', 'INVALID'];

function unescapeXml(s: string): string {
  if (!s.includes('&')) return s;
  return s.replace(/&(lt|gt|amp|quot|apos);/g, (_m, n: string) => ({ lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" })[n]!);
}

const TAG = /<(\/?)([A-Za-z0-9_]+)((?:\s+[A-Za-z_]+="[^"]*")*)\s*(\/?)>/g;
const ATTR = /([A-Za-z_]+)="([^"]*)"/g;

/** Parse one complete <flow>...</flow> (plus an optional [USERSPACE] suffix). '' or the reason. */
export function parseXmlFlow(flow: string, e: ConntrackEntry): string {
  e.reset();
  let dir: 'original' | 'reply' | 'independent' | '' = '';
  let tuple: Tuple | undefined;
  let inTimestamp = false;
  let inWhen = false;
  const when = { hour: -1, min: -1, sec: -1, day: -1, month: -1, year: -1 };
  const labels: string[] = [];
  let sawFlow = false;
  let closed = false;
  let protoName = '';
  TAG.lastIndex = 0;
  let m: RegExpExecArray | null;
  let textStart = 0;
  while ((m = TAG.exec(flow)) !== null) {
    const closing = m[1] === '/';
    const name = m[2]!;
    const selfClose = m[4] === '/';
    if (closing) {
      const text = unescapeXml(flow.slice(textStart, m.index).trim());
      const bad = closeTag(name, text);
      if (bad) return bad;
      if (name === 'flow') {
        closed = true;
        textStart = TAG.lastIndex;
        break;
      }
    } else {
      const attrs: Record<string, string> = {};
      if (m[3]) {
        ATTR.lastIndex = 0;
        let a: RegExpExecArray | null;
        while ((a = ATTR.exec(m[3])) !== null) attrs[a[1]!] = a[2]!;
      }
      const bad = openTag(name, attrs, selfClose);
      if (bad) return bad;
    }
    textStart = TAG.lastIndex;
  }
  if (!sawFlow || !closed) return 'incomplete <flow>';
  // "[USERSPACE] portid=N progname=X" after </flow> in event streams.
  const rest = flow.slice(textStart);
  const pid = /portid=(\d+)/.exec(rest);
  if (pid) e.portid = Number(pid[1]);
  const prog = /progname=(.*)$/.exec(rest);
  if (prog) e.progname = prog[1]!.trim();
  if (labels.length) e.labels = labels.join(',');
  if (when.year >= 0 && when.month >= 1 && when.day >= 1) {
    // <when> is the printing host's local time, to the second.
    const t = new Date(when.year, when.month - 1, when.day, Math.max(0, when.hour), Math.max(0, when.min), Math.max(0, when.sec)).getTime();
    if (!Number.isNaN(t)) {
      e.timeSec = Math.floor(t / 1000);
      e.timeNsec = 0;
      e.timePrecision = 0;
    }
  }
  if (e.state && (e.protoNum === 132 || e.protoNum === 33)) {
    const k = TCP_STATES.indexOf(e.state);
    const table = e.protoNum === 132 ? SCTP_STATES : DCCP_STATES;
    if (k >= 0 && k < table.length) e.state = table[k]!;
  }
  if (!e.proto) e.proto = protoName;
  if (!e.orig.src || !e.orig.dst) return 'no original tuple';
  if (!e.reply.src || !e.reply.dst) return 'no reply tuple';
  return '';

  function openTag(name: string, attrs: Record<string, string>, selfClose: boolean): string {
    switch (name) {
      case 'flow': {
        if (sawFlow) return 'nested <flow>';
        sawFlow = true;
        const t = attrs['type'];
        if (t === 'new' || t === 'update' || t === 'destroy') e.event = t;
        else if (t !== undefined) return `unknown flow type "${t}"`;
        return '';
      }
      case 'meta': {
        const d = attrs['direction'];
        if (d === 'original' || d === 'reply' || d === 'independent') dir = d;
        else return `unknown meta direction "${d ?? ''}"`;
        tuple = d === 'original' ? e.orig : d === 'reply' ? e.reply : undefined;
        return '';
      }
      case 'layer3': {
        const n = Number(attrs['protonum']);
        if (n === 2) e.family = 'ipv4';
        else if (n === 10) e.family = 'ipv6';
        return '';
      }
      case 'layer4': {
        const n = Number(attrs['protonum']);
        if (!Number.isInteger(n) || n < 0 || n > 255) return 'bad layer4 protonum';
        e.protoNum = n;
        protoName = attrs['protoname'] ?? '';
        e.proto = protoName;
        return '';
      }
      case 'assured':
        if (selfClose) e.assured = true;
        return '';
      case 'unreplied':
        if (selfClose) e.unreplied = true;
        return '';
      case 'timestamp':
        inTimestamp = true;
        return '';
      case 'when':
        inWhen = true;
        return '';
      default:
        return '';
    }
  }

  function closeTag(name: string, text: string): string {
    const int = (): number => (/^\d+$/.test(text) ? Number(text) : Number.NaN);
    switch (name) {
      case 'src':
      case 'dst': {
        if (!tuple) return `<${name}> outside a tuple`;
        const v = canonical(text);
        if (v === undefined) return `bad address in <${name}>`;
        if (name === 'src') tuple.src = v;
        else tuple.dst = v;
        return '';
      }
      case 'sport':
      case 'dport': {
        if (!tuple) return `<${name}> outside a tuple`;
        const v = int();
        if (!(v >= 0 && v <= 65535)) return `bad port in <${name}>`;
        if (name === 'sport') tuple.sport = v;
        else tuple.dport = v;
        return '';
      }
      case 'srckey':
      case 'dstkey':
        if (tuple) {
          const v = parseInt(text, text.startsWith('0x') ? 16 : 10);
          if (name === 'srckey') tuple.srcKey = v;
          else tuple.dstKey = v;
        }
        return '';
      case 'packets':
        if (tuple) tuple.packets = int();
        return '';
      case 'bytes':
        if (tuple) tuple.bytes = int();
        return '';
      case 'zone':
        if (dir === 'original') e.zoneOrig = int();
        else if (dir === 'reply') e.zoneReply = int();
        else e.zone = int();
        return '';
      case 'state':
        e.state = text;
        return '';
      case 'timeout':
        e.timeout = int();
        return '';
      case 'mark':
        e.mark = int();
        return '';
      case 'secmark':
        e.secmark = int();
        return '';
      case 'secctx':
        e.secctx = text;
        return '';
      case 'use':
        e.use = int();
        return '';
      case 'id':
        e.id = int();
        return '';
      case 'label':
        labels.push(text);
        return '';
      case 'helper':
        e.helper = text;
        return '';
      case 'deltatime':
        e.deltaSec = int();
        return '';
      case 'start':
      case 'stop': {
        if (!inTimestamp) return '';
        if (!/^\d{1,20}$/.test(text)) return `bad <${name}>`;
        // Nanoseconds since the epoch: split without going through a float.
        const sec = text.length > 9 ? Number(text.slice(0, -9)) : 0;
        const nsec = Number(text.slice(-9));
        if (name === 'start') {
          e.startSec = sec;
          e.startNsec = nsec;
          e.startPrecision = 9;
        } else {
          e.stopSec = sec;
          e.stopNsec = nsec;
          e.stopPrecision = 9;
        }
        return '';
      }
      case 'timestamp':
        inTimestamp = false;
        return '';
      case 'when':
        inWhen = false;
        return '';
      case 'hour':
      case 'min':
      case 'sec':
      case 'day':
      case 'month':
      case 'year':
        if (inWhen) when[name] = int();
        return '';
      case 'meta':
        dir = '';
        tuple = undefined;
        return '';
      default:
        return '';
    }
  }
}

/**
 * Gathers the lines of one <flow> at a time. `push` returns the complete flow text when a
 * </flow> closes it (with any suffix on that line), '' while a flow is open or the line is
 * document furniture (<?xml ...?>, <conntrack>, </conntrack>), or undefined for a line that is
 * neither.
 */
export class XmlFlowCollector {
  private buf = '';
  private open = false;
  startLine = 0;
  overflow = false;

  push(line: string, lineNo: number): string | undefined {
    this.overflow = false;
    let s = line;
    if (!this.open) {
      const k = s.indexOf('<flow');
      if (k < 0) {
        const t = s.trim();
        if (t === '' || t.startsWith('<?xml') || t === '<conntrack>' || t === '</conntrack>') return '';
        // "</conntrack>" can share a line with the summary text; anything else is not XML.
        return undefined;
      }
      const head = s.slice(0, k).trim();
      if (head !== '' && head !== '<conntrack>' && !head.startsWith('<?xml')) return undefined;
      s = s.slice(k);
      this.open = true;
      this.buf = '';
      this.startLine = lineNo;
    }
    if (this.buf.length + s.length > MAX_FLOW_CHARS) {
      this.open = false;
      this.buf = '';
      this.overflow = true;
      return undefined;
    }
    this.buf = this.buf === '' ? s : this.buf + '\n' + s;
    if (s.includes('</flow>')) {
      this.open = false;
      const out = this.buf;
      this.buf = '';
      return out;
    }
    return '';
  }

  /** An unterminated flow at end of input. */
  get pending(): boolean {
    return this.open;
  }
}
