/**
 * The lab's address plan and variants. Documentation ranges only (RFC 5737, RFC 3849):
 * nothing here can collide with, or route to, a real network.
 *
 *   client ---- lb-ext [LB] lb-a ---- A
 *                           lb-b ---- B
 *
 * The LB forwards and DNATs the service address (the VIP, an extra address on lb-ext) to A,
 * then at the failover to B. No SNAT: backends see the client's real address, as with a
 * kube-proxy or nftables DNAT load balancer.
 */

export type Variant = 'killed' | 'link-down' | 'netns-deleted' | 'ipv6' | 'fragmented';
export type Termination = 'killed' | 'link-down' | 'netns-deleted';
/** `any`: tcpdump -i any (pcap, Linux cooked v2); `interfaces`: dumpcap on each LB interface (pcapng). */
export type CaptureMode = 'any' | 'interfaces';

export const VARIANTS: readonly Variant[] = ['killed', 'link-down', 'netns-deleted', 'ipv6', 'fragmented'];

export interface VariantSpec {
  family: 4 | 6;
  termination: Termination;
  capture: CaptureMode;
  /** INVITEs carry an SDP body large enough that the client's IP layer fragments them. */
  bigSdp: boolean;
  /** nf_conntrack_acct=1, so the dumps carry packets= and bytes= (format coverage). */
  acct: boolean;
  summary: string;
}

export const VARIANT_SPECS: Record<Variant, VariantSpec> = {
  killed: {
    family: 4,
    termination: 'killed',
    capture: 'any',
    bigSdp: false,
    acct: false,
    summary: "A's SIP processes are killed; A's kernel answers ICMP port unreachable",
  },
  'link-down': {
    family: 4,
    termination: 'link-down',
    capture: 'interfaces',
    bigSdp: false,
    acct: true,
    summary: "A's interface is set down; the LB's side loses carrier and drops what it forwards",
  },
  'netns-deleted': {
    family: 4,
    termination: 'netns-deleted',
    capture: 'any',
    bigSdp: false,
    acct: false,
    summary: "A's processes are killed and its namespace deleted; the LB's route to A is gone",
  },
  ipv6: {
    family: 6,
    termination: 'killed',
    capture: 'interfaces',
    bigSdp: false,
    acct: true,
    summary: "IPv6 end to end; A's SIP processes are killed (ICMPv6 port unreachable)",
  },
  fragmented: {
    family: 4,
    termination: 'killed',
    capture: 'any',
    bigSdp: true,
    acct: false,
    summary: 'INVITEs with a ~3 KB SDP body, IP-fragmented by the client; A killed',
  },
};

export interface AddressPlan {
  family: 4 | 6;
  client: string;
  lbClientSide: string;
  vip: string;
  lbToA: string;
  backendA: string;
  lbToB: string;
  backendB: string;
  /** Prefix length used on every link. */
  prefix: number;
}

export const PLAN4: AddressPlan = {
  family: 4,
  client: '203.0.113.2',
  lbClientSide: '203.0.113.1',
  vip: '203.0.113.10',
  lbToA: '198.51.100.1',
  backendA: '198.51.100.11',
  lbToB: '198.51.100.17',
  backendB: '198.51.100.21',
  prefix: 28,
};

export const PLAN6: AddressPlan = {
  family: 6,
  client: '2001:db8:c::2',
  lbClientSide: '2001:db8:c::1',
  vip: '2001:db8:c::10',
  lbToA: '2001:db8:a::1',
  backendA: '2001:db8:a::11',
  lbToB: '2001:db8:b::1',
  backendB: '2001:db8:b::21',
  prefix: 64,
};

/** The client side uses a /24 in IPv4 so the VIP (.10) and the client (.2) share the link. */
export function clientPrefix(plan: AddressPlan): number {
  return plan.family === 4 ? 24 : 64;
}

export const SIP_PORT = 5060;
/** The carrier's fixed source port: distinct from 5060 so a swapped sport/dport shows up in tests. */
export const DEFAULT_FIXED_PORT = 5080;

/** LB interface names, also the interface names in the per-interface pcapng. */
export const LB_IF = { client: 'lb-ext', a: 'lb-a', b: 'lb-b' } as const;
/** The backend's and client's own interface name. */
export const NODE_IF = 'eth0';

export const NFT_TABLE = 'stalepin_lab';
export const NFT_CHAIN = 'prerouting';

/** The ruleset loaded at start (target A) and the atomic swap at the failover (target B). */
export function nftInitial(plan: AddressPlan, target: string): string {
  const fam = plan.family === 4 ? 'ip' : 'ip6';
  return [
    `table ${fam} ${NFT_TABLE} {`,
    `  chain ${NFT_CHAIN} {`,
    `    type nat hook prerouting priority dstnat; policy accept;`,
    ...dnatRules(plan, target).map((r) => '    ' + r),
    `  }`,
    `}`,
    '',
  ].join('\n');
}

export function nftSwap(plan: AddressPlan, target: string): string {
  const fam = plan.family === 4 ? 'ip' : 'ip6';
  return [
    `flush chain ${fam} ${NFT_TABLE} ${NFT_CHAIN}`,
    ...dnatRules(plan, target).map((r) => `add rule ${fam} ${NFT_TABLE} ${NFT_CHAIN} ${r}`),
    '',
  ].join('\n');
}

function dnatRules(plan: AddressPlan, target: string): string[] {
  const daddr = plan.family === 4 ? 'ip daddr' : 'ip6 daddr';
  return ['udp', 'tcp'].map(
    (proto) => `${daddr} ${plan.vip} ${proto} dport ${SIP_PORT} dnat to ${target} comment "sip-${proto}"`,
  );
}
