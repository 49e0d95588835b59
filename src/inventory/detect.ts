/**
 * Recognise an inventory by its content, never its name. Cheap: it looks at the first 64 KiB
 * and the first few meaningful lines, so a case-folder scanner can ask it about every file.
 * It must say no to conntrack dumps and events, IPVS connection lists, pcap/pcapng, gzip and
 * SIP messages; each rule below keys on something only its format prints.
 */
import { parseEndpoint } from '../core/address.js';
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

interface Head {
  head: string;
  json: boolean;
  /** Up to MAX_LINES lines that are neither blank nor '#' comments, untrimmed. */
  lines: string[];
}

/** One rule per format; each keys on something only its format prints. */
export const DETECTORS: { format: InventoryFormat; test(h: Head): boolean }[] = [
  { format: 'nft-json', test: (h) => h.json && /^\s*\{\s*"nftables"\s*:\s*\[/.test(h.head) },
  {
    format: 'k8s-endpointslices',
    test: (h) => h.json && !/^\s*\{\s*"nftables"/.test(h.head) && /"kind"\s*:\s*"EndpointSlice(?:List)?"/.test(h.head),
  },
  {
    format: 'stalepin-json',
    test: (h) =>
      h.json && /^\s*\{[\s\S]*?"nodes"\s*:\s*\[/.test(h.head) && !/^\s*\{\s*"nftables"/.test(h.head) && !/"kind"\s*:\s*"EndpointSlice/.test(h.head),
  },
  {
    format: 'ipvsadm-list',
    test: (h) => {
      const [l0, l1] = h.lines;
      if (h.json || l0 === undefined) return false;
      const t0 = l0.trim();
      // "ipvsadm -Lnc" prints the same banner, then its connection table: that is tracker state.
      if (t0.startsWith('IP Virtual Server version')) return l1 === undefined || !/^(IPVS connection entries|pro\s+expire)/i.test(l1.trim());
      if (/^Prot\s+LocalAddress:Port/.test(t0)) return true;
      return /^(TCP|UDP|SCTP|FWM)\s+\S+\s+\S+/.test(l0) && l1 !== undefined && /^\s+->\s+\S/.test(l1);
    },
  },
  {
    format: 'ipvsadm-save',
    test: (h) => {
      const t0 = h.lines[0]?.trim();
      if (h.json || t0 === undefined) return false;
      // "conntrack -L -o save" also starts with "-A -t", but with a timeout ("-A -t 27 -u SEEN_REPLY"):
      // ipvsadm's service is an address:port, or a firewall mark with a scheduler.
      return (
        /^-[Aa]\s+(-[tu]|--(tcp|udp|sctp)-service)\s+\S*:\d+(\s|$)/.test(t0) ||
        /^-[Aa]\s+(-f|--fwmark-service)\s+\d+\s+(-s|--scheduler)\s/.test(t0)
      );
    },
  },
  {
    format: 'iptables-save',
    test: (h) => {
      const t0 = h.lines[0]?.trim();
      if (h.json || t0 === undefined || !/^\*[a-z]+$/.test(t0)) return false;
      return h.lines.slice(1).some((l) => /^(:\S+ \S+|-A \S+|COMMIT$)/.test(l.trim()));
    },
  },
  {
    format: 'lines',
    test: (h) => {
      if (h.json || h.lines.length === 0 || !looksLikeLine(stripComment(h.lines[0]!))) return false;
      // The first line reads as ADDRESS STATE; most others at least start with an address
      // (a line with a bad state is still this format, reported as a warning).
      let plausible = 0;
      let seen = 0;
      for (const l of h.lines) {
        const t = stripComment(l);
        if (t === '') continue;
        seen++;
        if (parseEndpoint(t.split(/\s/, 1)[0]!) !== undefined) plausible++;
      }
      return plausible * 2 >= seen;
    },
  },
];

function headOf(text: string): Head | undefined {
  let head = text.length > HEAD ? text.slice(0, HEAD) : text;
  if (head.charCodeAt(0) === 0xfeff) head = head.slice(1);
  if (looksBinary(head)) return undefined;
  const first = /\S/.exec(head);
  if (!first) return undefined;
  const json = first[0] === '{' || first[0] === '[';
  const lines: string[] = [];
  if (!json) {
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
  }
  return { head, json, lines };
}

/** The inventory format of a text, or undefined when it is none of them. */
export function detectInventory(text: string): InventoryFormat | undefined {
  const h = headOf(text);
  if (!h) return undefined;
  for (const d of DETECTORS) if (d.test(h)) return d.format;
  return undefined;
}

/** Every format whose detector accepts the text (for tests: never more than one). */
export function detectAll(text: string): InventoryFormat[] {
  const h = headOf(text);
  return h ? DETECTORS.filter((d) => d.test(h)).map((d) => d.format) : [];
}
