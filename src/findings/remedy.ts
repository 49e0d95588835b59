/**
 * The exact fix for a finding. For a Linux conntrack entry that is one `conntrack -D` naming
 * the full original tuple and the stale reply source, so only that entry can match (never a
 * flush); elsewhere the equivalent action on IPVS or a cloud balancer.
 */
import { parseEndpoint } from '../core/address.js';

export function conntrackDelete(proto: string, client: string, service: string | null, target: string | null, zone = 0): string {
  const c = parseEndpoint(client);
  const s = service ? parseEndpoint(service) : undefined;
  const t = target ? parseEndpoint(target) : undefined;
  const parts = ['conntrack', '-D'];
  if (c && c.ip.includes(':')) parts.push('-f', 'ipv6');
  parts.push('-p', proto);
  if (c) {
    parts.push('--orig-src', c.ip);
    if (c.port !== undefined) parts.push('--orig-port-src', String(c.port));
  }
  if (s) {
    parts.push('--orig-dst', s.ip);
    if (s.port !== undefined) parts.push('--orig-port-dst', String(s.port));
  }
  if (t) parts.push('--reply-src', t.ip);
  if (zone > 0) parts.push('-w', String(zone));
  return parts.join(' ');
}

/** Remedy for a flow pinned to a dead backend. `linux`: the evidence came from Linux conntrack. */
export function pinnedRemedy(proto: string, client: string, service: string | null, target: string | null, linux: boolean, zone = 0): string {
  const cmd = conntrackDelete(proto, client, service, target, zone);
  if (linux) return cmd;
  return (
    `${cmd} (Linux DNAT/kube-proxy); on IPVS: ipvsadm -d -${proto === 'tcp' ? 't' : 'u'} ${service ?? 'SERVICE'} -r ${target ?? 'BACKEND'} ` +
    `with sysctl net.ipv4.vs.expire_nodest_conn=1 so its connection entries go; on a cloud load balancer whose tracker cannot be flushed: ` +
    `have the client use a new source port, or stop the flow for longer than the tracker's UDP idle timeout`
  );
}

export function unansweredRemedy(client: string, service: string | null): string {
  const c = parseEndpoint(client);
  const where = c ? `--orig-src ${c.ip}${c.port !== undefined ? ` --orig-port-src ${c.port}` : ''}` : '';
  return (
    `find where the balancer sends this tuple: conntrack -L -p udp ${where}${service ? ` --orig-dst ${parseEndpoint(service)?.ip ?? service}` : ''} ` +
    `(its reply source is the backend); if that backend is gone, delete the entry with conntrack -D and the same filters; ` +
    `capture on the balancer's backend side too, so the forwarded copies show the target`
  );
}

export function unresponsiveRemedy(target: string): string {
  const t = parseEndpoint(target);
  return (
    `take ${target} out of the pool (remove it from the DNAT map or set its weight to 0), then delete the flows still pinned to it: ` +
    `conntrack -D -p udp --reply-src ${t?.ip ?? target}${t?.port !== undefined ? ` --reply-port-src ${t.port}` : ''}`
  );
}
