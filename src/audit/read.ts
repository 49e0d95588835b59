/**
 * Where an audit's two inputs come from: the connection table (a file, stdin, the live conntrack
 * table, the live IPVS connection table) and the backend set (inventory files, the host's own
 * forwarding rules). Live reads run inside `--netns` when given. The conntrack parsing, live
 * conntrack reading and rule parsing are the conntrack/ and inventory/ modules'; this only
 * chooses, spawns ipvsadm, and merges.
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { parseEndpoint } from '../core/address.js';
import { StalepinError } from '../core/errors.js';
import type { Timestamp } from '../core/time.js';
import type { ConntrackEntry } from '../conntrack/entry.js';
import { readLiveTable, runTableChild, validNetns } from '../conntrack/live.js';
import { parseConntrackFile, parseConntrackStream, type ParseSummary } from '../conntrack/parse.js';
import { loadInventory, merge, readLiveRules, type Inventory, type InventoryService, type LiveKind } from '../inventory/index.js';
import { classifyFailure } from '../inventory/live.js';
import { visible } from '../report/visible.js';

export interface Tools {
  conntrackBin?: string;
  ipBin?: string;
  ipvsadmBin?: string;
  procPath?: string;
  /** Environment for rule readers (tests put fake binaries on PATH). */
  env?: NodeJS.ProcessEnv;
}

export interface TableSource {
  /** A file path or '-' (stdin); absent: live. */
  file?: string;
  /** Live IPVS connection table instead of conntrack. */
  ipvs: boolean;
  netns?: string;
}

export interface TableRead {
  summary: ParseSummary;
  /** How it was read, for the report: "conntrack-after.txt", "conntrack -L -o extended,id (netns lb)". */
  label: string;
  live: boolean;
  /** The entries came from an IPVS connection table. */
  ipvs: boolean;
  /** Wall clock (ms) when the read started and ended. */
  startMs: number;
  endMs: number;
}

export async function readTable(
  src: TableSource,
  onEntry: (e: ConntrackEntry) => void,
  opts: { at?: Timestamp; signal?: AbortSignal; stdin?: NodeJS.ReadableStream; tools?: Tools },
): Promise<TableRead> {
  const startMs = Date.now();
  const signal = opts.signal ? { signal: opts.signal } : {};
  if (src.file !== undefined) {
    const at = opts.at ? { at: opts.at } : {};
    const summary =
      src.file === '-'
        ? await parseConntrackStream(opts.stdin ?? process.stdin, { file: '<stdin>', onEntry, ...at, ...signal })
        : await parseConntrackFile(src.file, { file: src.file, onEntry, ...at, ...signal });
    if (summary.format === 'events' || summary.format === 'xml-events')
      throw new StalepinError('bad_input', 'an event stream (conntrack -E) is not a table: give a conntrack -L dump, /proc/net/nf_conntrack or ipvsadm -Lnc', { file: summary.file });
    const ipvs = summary.format === 'ipvs' || summary.format === 'ipvs-proc';
    return { summary, label: summary.file, live: false, ipvs, startMs, endMs: Date.now() };
  }
  const where = src.netns === undefined ? '' : ` (netns ${src.netns})`;
  if (src.ipvs) {
    const summary = await readLiveIpvs(onEntry, src.netns, opts.tools ?? {}, opts.signal);
    return { summary, label: `ipvsadm -Lnc${where}`, live: true, ipvs: true, startMs, endMs: Date.now() };
  }
  const t = opts.tools ?? {};
  const s = await readLiveTable({
    onEntry,
    ...(src.netns !== undefined ? { netns: src.netns } : {}),
    ...signal,
    ...(t.conntrackBin ? { conntrackBin: t.conntrackBin } : {}),
    ...(t.ipBin ? { ipBin: t.ipBin } : {}),
    ...(t.procPath ? { procPath: t.procPath } : {}),
  });
  const label = s.via === 'conntrack' ? `conntrack -L -o extended,id${where}` : `/proc/net/nf_conntrack${where}`;
  return { summary: s, label, live: true, ipvs: false, startMs, endMs: Date.now() };
}

/** `ipvsadm -Lnc`, streamed into the IPVS parser of conntrack/. */
async function readLiveIpvs(onEntry: (e: ConntrackEntry) => void, netns: string | undefined, tools: Tools, signal?: AbortSignal): Promise<ParseSummary> {
  const bin = tools.ipvsadmBin ?? 'ipvsadm';
  if (netns !== undefined) validNetns(netns);
  const argv = netns === undefined ? [bin, '-Lnc'] : [tools.ipBin ?? 'ip', 'netns', 'exec', netns, bin, '-Lnc'];
  const r = await runTableChild(argv[0]!, argv.slice(1), { file: 'ipvsadm -Lnc', onEntry, ...(signal ? { signal } : {}), env: tools.env ?? process.env });
  if (r.spawnError || r.code !== 0) {
    throw classifyFailure(netns === undefined ? 'ipvsadm -Lnc' : `${bin} -Lnc`, 'ipvsadm', netns, {
      stdout: '',
      stderr: r.stderr,
      code: r.code,
      ...(r.spawnError ? { spawnError: r.spawnError } : {}),
    });
  }
  if (r.parseError !== undefined) throw r.parseError;
  return r.summary!;
}

/**
 * The stream timeout the kernel gives assured UDP entries, read from the namespace's own sysctl
 * (it is per network namespace). Undefined when it cannot be read.
 */
export async function readUdpStreamTimeout(netns: string | undefined, tools: Tools = {}): Promise<number | undefined> {
  const path = '/proc/sys/net/netfilter/nf_conntrack_udp_timeout_stream';
  try {
    if (netns === undefined) return toInt(await readFile(path, 'utf8'));
    const out = await new Promise<string>((resolve, reject) => {
      const c = spawn(tools.ipBin ?? 'ip', ['netns', 'exec', netns, 'cat', path], { stdio: ['ignore', 'pipe', 'ignore'] });
      let s = '';
      c.stdout.setEncoding('utf8');
      c.stdout.on('data', (d: string) => (s += d));
      c.once('error', reject);
      c.once('close', (code) => (code === 0 ? resolve(s) : reject(new Error(`exit ${code}`))));
    });
    return toInt(out);
  } catch {
    return undefined;
  }
}

function toInt(s: string): number | undefined {
  const n = Number(s.trim());
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

export interface BackendSources {
  nodes?: string;
  fromNft: boolean;
  fromIptables: boolean;
  fromIpvs: boolean;
  fromEndpointSlices?: string;
  vips: string[];
  netns?: string;
}

export function describeNoBackendSource(): string {
  return 'no backend set: give --nodes FILE, --from-nft, --from-iptables, --from-ipvs or --from-endpointslices FILE';
}

/**
 * Read every backend source given and merge them (later ones win per node, services are the
 * union); then add --vip and the services nodes name. Errors when nothing names a service
 * address, since then no entry can be judged.
 */
export async function loadBackends(src: BackendSources, opts: { stdin?: NodeJS.ReadableStream; tools?: Tools }): Promise<Inventory> {
  if (src.nodes === '-' && src.fromEndpointSlices === '-') throw new StalepinError('bad_usage', '--nodes - and --from-endpointslices - cannot both read standard input');
  const invs: Inventory[] = [];
  const io = opts.stdin ? { stdin: opts.stdin } : {};
  const live = opts.tools?.env ? { env: opts.tools.env } : {};
  const kinds: LiveKind[] = [];
  if (src.fromNft) kinds.push('nft');
  if (src.fromIptables) kinds.push('iptables');
  if (src.fromIpvs) kinds.push('ipvs');
  for (const k of kinds) invs.push(await readLiveRules(k, src.netns, live));
  if (src.fromEndpointSlices !== undefined) {
    const inv = await loadInventory(src.fromEndpointSlices, io);
    if (inv.source.format !== 'k8s-endpointslices')
      throw new StalepinError('bad_input', `--from-endpointslices: not EndpointSlice JSON (looks like ${inv.source.format}; use --nodes for other inventories)`, {
        file: inv.source.file,
      });
    invs.push(inv);
  }
  // The node list last: it says which backend is gone, the rules say where traffic goes.
  if (src.nodes !== undefined) invs.push(await loadInventory(src.nodes, io));
  if (invs.length === 0) throw new StalepinError('bad_usage', describeNoBackendSource());
  const merged = merge(invs);
  const inv: Inventory = { ...merged, services: [...merged.services], warnings: [...merged.warnings] };
  const seen = new Set(inv.services.map((s) => `${s.address}|${s.port ?? ''}|${s.protocol ?? ''}`));
  const add = (s: InventoryService): void => {
    const k = `${s.address}|${s.port ?? ''}|${s.protocol ?? ''}`;
    if (seen.has(k)) return;
    seen.add(k);
    inv.services.push(s);
  };
  for (const v of src.vips) {
    const ep = parseEndpoint(v);
    if (!ep) throw new StalepinError('bad_usage', `--vip: not an address or ip:port: ${visible(v)}`);
    add(ep.port === undefined ? { address: ep.ip } : { address: ep.ip, port: ep.port });
  }
  for (const n of inv.nodes) {
    if (n.service === undefined) continue;
    const ep = parseEndpoint(n.service);
    if (ep) add({ address: ep.ip, ...(ep.port !== undefined ? { port: ep.port } : {}), ...(n.protocol ? { protocol: n.protocol } : {}) });
  }
  if (inv.services.length === 0)
    throw new StalepinError('bad_usage', `no service address: ${inv.source.file} names none; give --vip ADDRESS (the address clients send to, repeatable)`);
  return inv;
}
