/** LINKTYPE_* names (tcpdump.org link-layer header types) for the ones a SIP capture shows. */
const NAMES: Record<number, string> = {
  0: 'NULL (BSD loopback)',
  1: 'ETHERNET',
  12: 'RAW (BSD)',
  14: 'RAW (BSD)',
  101: 'RAW',
  105: 'IEEE802_11',
  108: 'LOOP (OpenBSD loopback)',
  113: 'LINUX_SLL',
  127: 'IEEE802_11_RADIOTAP',
  228: 'IPV4',
  229: 'IPV6',
  276: 'LINUX_SLL2',
};

export function linkTypeName(t: number): string {
  return NAMES[t] ?? `LINKTYPE_${t}`;
}
