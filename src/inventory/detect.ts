/**
 * Recognise an inventory by its content, never its name. Cheap: it looks at the first 64 KiB
 * and the first few meaningful lines, so a case-folder scanner can ask it about every file.
 * It must say no to conntrack dumps and events, IPVS connection lists, pcap/pcapng, gzip and
 * SIP messages; each rule below keys on something only its format prints.
 */
import { looksLikeLine, stripComment } from './lines.js';
import type { InventoryFormat } from './model.js';

const HEAD = 65536;
const MAX_LINES = 20;

/** True when the text holds NUL or other C0 bytes that no text inventory has (pcap, gzip...). */
export function looksBinary(head: string): boolean {
  const n = Math.min(head.length, 4096);
  for (let i = 0; i < n; i++) {
    const c = head.charCodeAt(i);
    if (c < 0x09 || (c > 0x0d && c < 0x20 && c !== 0x1b) || c === 0xfffd) return true;
  }
  return false;
}

function detectJson(head: string): InventoryFormat | undefined {
  if (/^\s*\{\s*"nftables"\s*:\s*\[/.test(head)) return 'nft-json';
  if (/"kind"\s*:\s*"EndpointSlice(?:List)?"/.test(head)) return 'k8s-endpointslices';
  if (/^\s*\{[\s\S]*?"nodes"\s*:\s*\[/.test(head)) return 'stalepin-json';
  return undefined;
}

export function detectInventory(text: string): InventoryFormat | undefined {
  let head = text.length > HEAD ? text.slice(0, HEAD) : text;
  if (head.charCodeAt(0) === 0xfeff) head = head.slice(1);
  if (looksBinary(head)) return undefined;
  const first = /\S/.exec(head);
  if (!first) return undefined;
  if (first[0] === '{' || first[0] === '[') return detectJson(head);

  // Meaningful lines: without blank and '#' lines (iptables-save starts with a "# Generated" comment).
  const lines: string[] = [];
  let start = 0;
  while (start < head.length && lines.length < MAX_LINES) {
    let end = head.indexOf('\n', start);
    if (end < 0) end = head.length;
    const raw = head.slice(start, end).replace(/\r$/, '');
    start = end + 1;
    const t = raw.trim();
    if (t === '' || t.startsWith('#')) continue;
    lines.push(raw);
  }
  const l0 = lines[0];
  if (l0 === undefined) return undefined;
  const t0 = l0.trim();
  if (t0.startsWith('IP Virtual Server version')) {
    // "ipvsadm -Lnc" prints the same banner, then its connection table: that is tracker state.
    return lines[1] !== undefined && /^(IPVS connection entries|pro\s+expire)/i.test(lines[1].trim()) ? undefined : 'ipvsadm-list';
  }
  if (/^Prot\s+LocalAddress:Port/.test(t0)) return 'ipvsadm-list';
  if (/^(TCP|UDP|SCTP|FWM)\s+\S+\s+\S+/.test(l0) && lines[1] !== undefined && /^\s+->\s+\S/.test(lines[1])) return 'ipvsadm-list';
  if (/^-[Aa]\s+(-[tuf]|--(tcp|udp|sctp|fwmark)-service)\s+\S/.test(t0)) return 'ipvsadm-save';
  if (/^\*[a-z]+$/.test(t0) && lines.slice(1).some((l) => /^(:\S+ \S+|-A \S+|COMMIT$)/.test(l.trim()))) return 'iptables-save';
  let good = 0;
  let seen = 0;
  for (const l of lines) {
    const t = stripComment(l);
    if (t === '') continue;
    seen++;
    if (looksLikeLine(t)) good++;
  }
  if (good > 0 && good * 2 >= seen && looksLikeLine(stripComment(l0))) return 'lines';
  return undefined;
}
