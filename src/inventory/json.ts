/**
 * stalepin's own inventory JSON:
 *   {"nodes": [{"address": "198.51.100.11:5060", "state": "terminated", "since": "2024-05-01T10:30:00Z",
 *               "name"?, "port"?, "protocol"?, "service"?}],
 *    "services"?: [{"address": "203.0.113.10", "port"?: 5060, "protocol"?: "udp"} | "203.0.113.10:5060"]}
 */
import { formatEndpoint, parseEndpoint } from '../core/address.js';
import { parseTime, type Timestamp } from '../core/time.js';
import { visible } from '../report/visible.js';
import { InventoryBuilder, parseProto, TARGET_STATES, type Inventory, type InventoryNode, type TargetState } from './model.js';

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * At most 80 visible characters of a JSON value, for a warning. JSON.stringify recurses (unlike
 * JSON.parse), so a value nested some thousand levels deep overflows the stack: shown by its type.
 */
export function show(v: unknown): string {
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = Array.isArray(v) ? '[...]' : '{...}';
  }
  return visible(s.slice(0, 400)).slice(0, 80);
}

/** "since": ISO 8601 text, or epoch seconds (number or text); a number above 1e11 is milliseconds. */
export function parseSince(v: unknown): Timestamp | undefined {
  if (typeof v === 'number') {
    if (!Number.isFinite(v) || v < 0) return undefined;
    if (v > 1e11) {
      const ms = Math.floor(v);
      return { sec: Math.floor(ms / 1000), nsec: (ms % 1000) * 1e6 };
    }
    const sec = Math.floor(v);
    return { sec, nsec: Math.round((v - sec) * 1e6) * 1000 };
  }
  if (typeof v === 'string') return parseTime(v);
  return undefined;
}

export function parseState(v: unknown): TargetState | undefined {
  if (typeof v !== 'string') return undefined;
  const s = v.trim().toLowerCase();
  return (TARGET_STATES as readonly string[]).includes(s) ? (s as TargetState) : undefined;
}

function portOf(v: unknown): number | undefined {
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= 65535 ? n : undefined;
}

export function parseStalepinJson(text: string, file: string, doc?: unknown): Inventory {
  const root = doc ?? JSON.parse(text);
  if (!isObj(root) || !Array.isArray(root['nodes'])) throw new TypeError('no "nodes" array');
  const b = new InventoryBuilder(file);
  (root['nodes'] as unknown[]).forEach((raw, i) => {
    const where = `nodes[${i}]`;
    if (!isObj(raw)) {
      b.warnIncomplete('inventory_bad_node', `${where}: not an object: ${show(raw)}`);
      return;
    }
    const ep = typeof raw['address'] === 'string' ? parseEndpoint(raw['address']) : undefined;
    if (!ep) {
      b.warnIncomplete('inventory_bad_node', `${where}: "address" is not an IP, ip:port or [v6]:port: ${show(raw['address'])}`);
      return;
    }
    let state = parseState(raw['state']);
    if (state === undefined) {
      b.warn('inventory_bad_node', `${where}: "state" is not one of ${TARGET_STATES.join(', ')}: ${show(raw['state'])}; counted unknown`);
      state = 'unknown';
    }
    const n: InventoryNode = { address: ep.ip, state };
    let port = ep.port;
    if (raw['port'] !== undefined) {
      const p = portOf(raw['port']);
      if (p === undefined) b.warn('inventory_bad_node', `${where}: "port" is not a port number: ${show(raw['port'])}`);
      else if (port !== undefined && port !== p) b.warn('inventory_bad_node', `${where}: "port" ${p} differs from the address's port ${port}; using ${port}`);
      else port = p;
    }
    if (port !== undefined) n.port = port;
    if (typeof raw['name'] === 'string') n.name = raw['name'];
    if (raw['since'] !== undefined && raw['since'] !== null) {
      const s = parseSince(raw['since']);
      if (s) n.since = s;
      else b.warn('inventory_bad_node', `${where}: "since" is neither ISO 8601 nor epoch seconds: ${show(raw['since'])}`);
    }
    if (raw['protocol'] !== undefined) {
      const p = parseProto(raw['protocol']);
      if (p) n.protocol = p;
      else b.warn('inventory_bad_node', `${where}: "protocol" is not udp, tcp or sctp: ${show(raw['protocol'])}`);
    }
    if (raw['service'] !== undefined) {
      const s = typeof raw['service'] === 'string' ? parseEndpoint(raw['service']) : undefined;
      if (s && s.port !== undefined) {
        n.service = formatEndpoint(s.ip, s.port);
        b.service(s.ip, s.port, n.protocol);
      } else b.warn('inventory_bad_node', `${where}: "service" is not ip:port: ${show(raw['service'])}`);
    }
    b.node(n);
  });
  const svcs = root['services'];
  if (svcs !== undefined && !Array.isArray(svcs)) b.warn('inventory_bad_service', `"services" is not an array`);
  if (Array.isArray(svcs))
    svcs.forEach((raw, i) => {
      const where = `services[${i}]`;
      const o = typeof raw === 'string' ? { address: raw } : raw;
      const ep = isObj(o) && typeof o['address'] === 'string' ? parseEndpoint(o['address']) : undefined;
      if (!isObj(o) || !ep) {
        b.warn('inventory_bad_service', `${where}: "address" is not an IP, ip:port or [v6]:port: ${show(raw)}`);
        return;
      }
      let port = ep.port;
      if (o['port'] !== undefined) {
        const p = portOf(o['port']);
        if (p === undefined) b.warn('inventory_bad_service', `${where}: "port" is not a port number: ${show(o['port'])}`);
        else port = p;
      }
      let proto: string | undefined;
      if (o['protocol'] !== undefined) {
        proto = parseProto(o['protocol']);
        if (!proto) b.warn('inventory_bad_service', `${where}: "protocol" is not udp, tcp or sctp: ${show(o['protocol'])}`);
      }
      b.service(ep.ip, port, proto);
    });
  return b.finish('stalepin-json', 'JSON object with a "nodes" array (stalepin inventory)');
}
