/**
 * IPVS tables: `ipvsadm -Ln` (listing) and `ipvsadm -Sn` (save/restore rules). A virtual
 * service (UDP/TCP/SCTP address:port, or a firewall mark) is the service; its real servers are
 * the backends, active with a weight above 0, draining at weight 0 (IPVS sends no new
 * connections to them but keeps existing ones, which is the operator's way to drain).
 */
import { formatEndpoint, parseEndpoint } from '../core/address.js';
import { visible } from '../report/visible.js';
import { InventoryBuilder, parseProto, type Inventory, type InventoryNode, type Proto } from './model.js';

interface VirtualService {
  proto?: Proto;
  /** "ip:port" for address services; undefined for a firewall mark. */
  endpoint?: string;
}

/**
 * /proc/net/ip_vs prints the ipvsadm -Ln layout with hex addresses and ports
 * ("CB00710A:13C4", "[2001:0db8:0000:...]:13C4"); ipvsadm prints decimal and compressed IPv6.
 */
const PROC_V4 = /^([0-9A-Fa-f]{8}):([0-9A-Fa-f]{4})$/;
const PROC_V6 = /^\[((?:[0-9a-f]{4}:){7}[0-9a-f]{4})\]:([0-9A-Fa-f]{4})$/;

export function parseProcEndpoint(text: string): { ip: string; port: number } | undefined {
  const m4 = PROC_V4.exec(text);
  if (m4) {
    const v = parseInt(m4[1]!, 16);
    return { ip: `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`, port: parseInt(m4[2]!, 16) };
  }
  const m6 = PROC_V6.exec(text);
  if (m6) {
    const ep = parseEndpoint(`[${m6[1]}]`);
    if (ep) return { ip: ep.ip, port: parseInt(m6[2]!, 16) };
  }
  return undefined;
}

function endpointOf(text: string, hex: boolean): { ip: string; port: number | undefined } | undefined {
  return hex ? parseProcEndpoint(text) : parseEndpoint(text);
}

function addServer(b: InventoryBuilder, vs: VirtualService, server: string, weight: number | undefined, lineNo: number, hex = false): void {
  const ep = endpointOf(server, hex);
  if (!ep) {
    b.warnIncomplete('inventory_bad_line', `real server ${visible(server)} is not a numeric address (use ipvsadm -n)`, lineNo);
    return;
  }
  const n: InventoryNode = { address: ep.ip, state: weight === undefined || weight > 0 ? 'active' : 'draining' };
  // Real servers of a firewall-mark service are listed with port 0: any port.
  if (ep.port !== undefined && ep.port !== 0) n.port = ep.port;
  if (vs.proto) n.protocol = vs.proto;
  if (vs.endpoint) n.service = vs.endpoint;
  b.node(n);
}

function serviceOf(b: InventoryBuilder, protoWord: string, addr: string, lineNo: number, hex = false): VirtualService | undefined {
  if (/^(FWM|-f|--fwmark-service)$/.test(protoWord)) {
    if (!/^\d+$/.test(addr) && !/^0x[0-9a-f]+$/i.test(addr)) {
      b.warnIncomplete('inventory_bad_line', `firewall mark ${visible(addr)} is not a number`, lineNo);
      return undefined;
    }
    return {};
  }
  const proto = parseProto(
    { TCP: 'tcp', UDP: 'udp', SCTP: 'sctp', '-t': 'tcp', '-u': 'udp', '--tcp-service': 'tcp', '--udp-service': 'udp', '--sctp-service': 'sctp' }[
      protoWord
    ] ?? '',
  );
  const ep = endpointOf(addr, hex);
  if (!proto || !ep || ep.port === undefined) {
    b.warnIncomplete('inventory_bad_line', `virtual service ${visible(protoWord + ' ' + addr)} is not protocol and numeric ip:port (use ipvsadm -n)`, lineNo);
    return undefined;
  }
  b.service(ep.ip, ep.port, proto);
  return { proto, endpoint: formatEndpoint(ep.ip, ep.port) };
}

export function parseIpvsList(text: string, file: string): Inventory {
  const b = new InventoryBuilder(file);
  let vs: VirtualService | undefined;
  let weightCol = true;
  let noWeightWarned = false;
  // Decided by the first address: the whole file is either ipvsadm -Ln or /proc/net/ip_vs.
  let hex: boolean | undefined;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const line = lines[i]!.replace(/\r$/, '');
    const t = line.trim();
    if (t === '' || t.startsWith('IP Virtual Server version')) continue;
    if (t.startsWith('Prot LocalAddress')) {
      continue;
    }
    if (t.startsWith('-> RemoteAddress')) {
      // --stats and --rate listings have no weight column.
      weightCol = /\bWeight\b/.test(t);
      continue;
    }
    let m = /^->\s+(\S+)\s+(\S+)(?:\s+(\d+))?/.exec(t);
    if (m && line.startsWith(' ')) {
      if (vs === undefined) {
        b.warnIncomplete('inventory_bad_line', 'real server outside a virtual service', lineNo);
        continue;
      }
      let weight: number | undefined;
      if (weightCol) {
        if (m[3] === undefined) {
          b.warnIncomplete('inventory_bad_line', `real server line without a weight: ${visible(t.slice(0, 120))}`, lineNo);
          continue;
        }
        weight = Number(m[3]);
      } else if (!noWeightWarned) {
        noWeightWarned = true;
        b.warn('inventory_ipvs_no_weight', 'listing has no Weight column (--stats/--rate): every real server counted active', lineNo);
      }
      hex ??= parseProcEndpoint(m[1]!) !== undefined;
      addServer(b, vs, m[1]!, weight, lineNo, hex);
      continue;
    }
    m = /^(TCP|UDP|SCTP|FWM)\s+(\S+)\s+\S+/.exec(t);
    if (m && !line.startsWith(' ')) {
      if (m[1] !== 'FWM') hex ??= parseProcEndpoint(m[2]!) !== undefined;
      vs = serviceOf(b, m[1]!, m[2]!, lineNo, hex);
      continue;
    }
    b.warnIncomplete('inventory_bad_line', `not an ipvsadm -Ln line: ${visible(t.slice(0, 120))}`, lineNo);
  }
  if (b.nodes.length === 0) b.warn('inventory_no_backends', 'no real servers listed');
  return b.finish(
    'ipvsadm-list',
    hex ? '/proc/net/ip_vs listing (hex addresses; the ipvsadm -Ln layout)' : 'ipvsadm -Ln listing (virtual service lines, then "  -> " real servers)',
  );
}

const SERVICE_FLAGS = new Set(['-t', '-u', '-f', '--tcp-service', '--udp-service', '--fwmark-service', '--sctp-service']);

export function parseIpvsSave(text: string, file: string): Inventory {
  const b = new InventoryBuilder(file);
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const t = lines[i]!.replace(/\r$/, '').trim();
    if (t === '' || t.startsWith('#')) continue;
    const words = t.split(/\s+/);
    const cmd = words[0];
    if (cmd !== '-A' && cmd !== '-a' && cmd !== '--add-service' && cmd !== '--add-server') {
      b.warnIncomplete('inventory_bad_line', `not an ipvsadm -S line: ${visible(t.slice(0, 120))}`, lineNo);
      continue;
    }
    let svcFlag: string | undefined;
    let svcAddr: string | undefined;
    let server: string | undefined;
    let weight: number | undefined = 1;
    let bad = false;
    for (let w = 1; w < words.length; w++) {
      const word = words[w]!;
      if (SERVICE_FLAGS.has(word)) {
        svcFlag = word;
        svcAddr = words[++w];
      } else if (word === '-r' || word === '--real-server') server = words[++w];
      else if (word === '-w' || word === '--weight') {
        const v = words[++w];
        if (v === undefined || !/^\d+$/.test(v)) bad = true;
        else weight = Number(v);
      }
    }
    if (svcFlag === undefined || svcAddr === undefined || bad) {
      b.warnIncomplete('inventory_bad_line', `unreadable ipvsadm rule: ${visible(t.slice(0, 120))}`, lineNo);
      continue;
    }
    const vs = serviceOf(b, svcFlag, svcAddr, lineNo);
    if (!vs) continue;
    if (cmd === '-a' || cmd === '--add-server') {
      if (server === undefined) {
        b.warnIncomplete('inventory_bad_line', 'real server rule without -r', lineNo);
        continue;
      }
      addServer(b, vs, server, weight, lineNo);
    }
  }
  if (b.nodes.length === 0) b.warn('inventory_no_backends', 'no real servers listed');
  return b.finish('ipvsadm-save', 'ipvsadm -Sn rules (-A/-a lines with -t/-u/-f services)');
}
