/**
 * Kubernetes EndpointSlices (`kubectl get endpointslices -o json`: a List or EndpointSliceList,
 * or one EndpointSlice). Each endpoint address, per slice port, is a backend; its state comes
 * from the conditions (discovery.k8s.io/v1):
 *   ready (and not terminating)        -> active
 *   serving (terminating, or not ready) -> draining: the pod still answers, takes no new flows
 *   terminating and not serving        -> terminated
 *   neither ready, serving nor terminating -> unresponsive (failing its readiness probe)
 * A nil ready or serving counts as true and a nil terminating as false, as the API asks.
 * The Service is the kubernetes.io/service-name label; when the same List also holds the
 * Service objects (`kubectl get svc,endpointslices -o json`), their cluster, external and
 * load-balancer IPs with the matching port become the service addresses.
 */
import { formatEndpoint, normalizeIP } from '../core/address.js';
import { visible } from '../report/visible.js';
import { show } from './json.js';
import { InventoryBuilder, parseProto, type Inventory, type InventoryNode, type Proto, type TargetState } from './model.js';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

export function endpointState(conditions: unknown): TargetState {
  const c = isObj(conditions) ? conditions : {};
  const ready = c['ready'] !== false;
  const serving = c['serving'] === undefined || c['serving'] === null ? ready : c['serving'] !== false;
  const terminating = c['terminating'] === true;
  if (ready && !terminating) return 'active';
  if (serving) return 'draining';
  if (terminating) return 'terminated';
  return 'unresponsive';
}

interface SvcInfo {
  ips: string[];
  /** "name|PROTO" -> service port */
  ports: Map<string, number>;
}

function serviceInfo(item: Obj): SvcInfo {
  const spec = isObj(item['spec']) ? item['spec'] : {};
  const ips: string[] = [];
  const add = (v: unknown): void => {
    const ip = typeof v === 'string' ? normalizeIP(v) : undefined;
    if (ip !== undefined && !ips.includes(ip)) ips.push(ip);
  };
  add(spec['clusterIP']);
  for (const v of Array.isArray(spec['clusterIPs']) ? spec['clusterIPs'] : []) add(v);
  for (const v of Array.isArray(spec['externalIPs']) ? spec['externalIPs'] : []) add(v);
  const status = isObj(item['status']) ? item['status'] : {};
  const lb = isObj(status['loadBalancer']) ? status['loadBalancer'] : {};
  for (const ing of Array.isArray(lb['ingress']) ? lb['ingress'] : []) if (isObj(ing)) add(ing['ip']);
  const ports = new Map<string, number>();
  for (const p of Array.isArray(spec['ports']) ? spec['ports'] : []) {
    if (!isObj(p) || typeof p['port'] !== 'number') continue;
    ports.set(`${str(p['name']) ?? ''}|${(str(p['protocol']) ?? 'TCP').toUpperCase()}`, p['port']);
  }
  return { ips, ports };
}

const nsName = (meta: Obj, name: string | undefined): string | undefined =>
  name === undefined ? undefined : str(meta['namespace']) !== undefined ? `${str(meta['namespace'])}/${name}` : name;

export function parseEndpointSlices(text: string, file: string, doc?: unknown): Inventory {
  const root = doc ?? JSON.parse(text);
  if (!isObj(root)) throw new TypeError('not a JSON object');
  const kind = str(root['kind']);
  let items: unknown[];
  if (kind === 'EndpointSlice') items = [root];
  else if (kind === 'List' || kind === 'EndpointSliceList') {
    if (!Array.isArray(root['items'])) throw new TypeError(`its "items" is not an array`);
    items = root['items'];
  } else throw new TypeError('not an EndpointSlice, List or EndpointSliceList');
  const b = new InventoryBuilder(file);
  const services = new Map<string, SvcInfo>();
  for (const it of items) {
    if (isObj(it) && it['kind'] === 'Service') {
      const meta = isObj(it['metadata']) ? it['metadata'] : {};
      const key = nsName(meta, str(meta['name']));
      if (key !== undefined) services.set(key, serviceInfo(it));
    }
  }
  let slices = 0;
  items.forEach((it, i) => {
    if (!isObj(it)) return;
    const itemKind = str(it['kind']) ?? (kind === 'EndpointSliceList' ? 'EndpointSlice' : undefined);
    if (itemKind !== 'EndpointSlice') return;
    slices++;
    const meta = isObj(it['metadata']) ? it['metadata'] : {};
    const where = `items[${i}] (${visible(str(meta['name']) ?? 'unnamed')})`;
    const addressType = str(it['addressType']);
    if (addressType === 'FQDN') {
      b.warn('inventory_k8s_fqdn', `${where}: FQDN endpoints are names, not addresses; skipped`);
      return;
    }
    const labels = isObj(meta['labels']) ? meta['labels'] : {};
    const svcName = nsName(meta, str(labels['kubernetes.io/service-name']));
    const svc = svcName === undefined ? undefined : services.get(svcName);
    // A slice without ports means "all ports" (the API's rule): the nodes match any port.
    const rawPorts = Array.isArray(it['ports']) ? it['ports'] : [];
    const ports: { port?: number; proto: Proto | undefined; name: string; protoUpper: string }[] = [];
    for (const p of rawPorts) {
      if (!isObj(p)) continue;
      const protoUpper = (str(p['protocol']) ?? 'TCP').toUpperCase();
      const entry: (typeof ports)[number] = { proto: parseProto(protoUpper), name: str(p['name']) ?? '', protoUpper };
      if (typeof p['port'] === 'number') entry.port = p['port'];
      ports.push(entry);
    }
    if (ports.length === 0) ports.push({ proto: undefined, name: '', protoUpper: '' });
    // Service addresses for each slice port, when the Service object is in the same list.
    const vipsFor = (p: (typeof ports)[number]): string[] => {
      const sp = svc?.ports.get(`${p.name}|${p.protoUpper}`);
      if (!svc || sp === undefined) return [];
      const fam = addressType === 'IPv6' ? (ip: string) => ip.includes(':') : (ip: string) => !ip.includes(':');
      return svc.ips.filter(fam).map((ip) => {
        b.service(ip, sp, p.proto);
        return formatEndpoint(ip, sp);
      });
    };
    const eps = Array.isArray(it['endpoints']) ? it['endpoints'] : [];
    eps.forEach((ep, j) => {
      if (!isObj(ep)) return;
      const addrs = Array.isArray(ep['addresses']) ? ep['addresses'] : [];
      if (addrs.length === 0) b.warn('inventory_bad_node', `${where} endpoints[${j}]: no addresses`);
      const state = endpointState(ep['conditions']);
      const ref = isObj(ep['targetRef']) ? ep['targetRef'] : {};
      const name = str(ref['name']) ?? str(ep['hostname']);
      for (const a of addrs) {
        const ip = typeof a === 'string' ? normalizeIP(a) : undefined;
        if (ip === undefined) {
          b.warnIncomplete('inventory_bad_node', `${where} endpoints[${j}]: address ${show(a)} is not an IP`);
          continue;
        }
        for (const p of ports) {
          const n: InventoryNode = { address: ip, state };
          if (p.port !== undefined) n.port = p.port;
          if (p.proto) n.protocol = p.proto;
          if (name !== undefined) n.name = name;
          if (svcName !== undefined) n.serviceName = svcName;
          const vips = vipsFor(p);
          if (vips.length) n.service = vips[0]!;
          b.node(n);
        }
      }
    });
  });
  if (slices === 0) b.warn('inventory_no_backends', 'the list holds no EndpointSlice');
  return b.finish('k8s-endpointslices', `Kubernetes ${kind ?? 'EndpointSlice'} JSON with EndpointSlice items (discovery.k8s.io)`);
}
