/**
 * What `inspect` reports about a capture: capinfos' counts plus what stalepin cares about
 * (transports, fragments, how many payloads look like SIP). A packet observer with a fixed set
 * of counters: nothing here grows with traffic.
 */
import { DecodeStatus, type Packet } from '../decode/types.js';
import { looksLikeSip } from '../sip/parser.js';
import { DEFAULT_SIP_PORTS } from '../sip/types.js';

export interface TransportCounts {
  udp: number;
  tcp: number;
  sctp: number;
  icmp: number;
  icmpv6: number;
  otherIp: number;
  notIp: number;
  unsupportedLink: number;
  malformed: number;
}

export class CaptureStats {
  packets = 0;
  capturedBytes = 0;
  wireBytes = 0;
  truncated = 0;
  ipv4 = 0;
  ipv6 = 0;
  vlanTagged = 0;
  fragmentsHeld = 0;
  reassembled = 0;
  readonly transports: TransportCounts = { udp: 0, tcp: 0, sctp: 0, icmp: 0, icmpv6: 0, otherIp: 0, notIp: 0, unsupportedLink: 0, malformed: 0 };
  /** UDP datagrams / TCP segments whose payload starts like a SIP message. */
  sipUdp = 0;
  sipTcp = 0;
  /** Of those, how many are on a configured SIP port (the rest were found by the heuristic). */
  sipOnPort = 0;
  /** ICMP/ICMPv6 destination-unreachable packets quoting a UDP or TCP datagram. */
  icmpUnreachable = 0;
  firstSec = Infinity;
  firstNsec = 0;
  lastSec = -Infinity;
  lastNsec = 0;
  precision = 0;
  private readonly ports: Set<number>;

  constructor(sipPorts: readonly number[] = DEFAULT_SIP_PORTS) {
    this.ports = new Set(sipPorts);
  }

  observe(pkt: Packet): void {
    const f = pkt.frame;
    this.packets++;
    this.capturedBytes += f.capLen;
    this.wireBytes += f.origLen;
    if (f.capLen < f.origLen) this.truncated++;
    // Multi-interface captures are not in time order: keep the extremes, not the ends.
    if (f.sec < this.firstSec || (f.sec === this.firstSec && f.nsec < this.firstNsec)) {
      this.firstSec = f.sec;
      this.firstNsec = f.nsec;
    }
    if (f.sec > this.lastSec || (f.sec === this.lastSec && f.nsec > this.lastNsec)) {
      this.lastSec = f.sec;
      this.lastNsec = f.nsec;
    }
    if (f.precision > this.precision) this.precision = f.precision;
    if (pkt.vlanTags > 0) this.vlanTagged++;
    if (pkt.ipVersion === 4) this.ipv4++;
    else if (pkt.ipVersion === 6) this.ipv6++;
    const t = this.transports;
    switch (pkt.status) {
      case DecodeStatus.FragmentHeld:
        this.fragmentsHeld++;
        return;
      case DecodeStatus.NotIP:
        t.notIp++;
        return;
      case DecodeStatus.UnsupportedLink:
        t.unsupportedLink++;
        return;
      case DecodeStatus.Malformed:
        t.malformed++;
        return;
      case DecodeStatus.OtherTransport:
        if (pkt.proto === 132) t.sctp++;
        else t.otherIp++;
        return;
    }
    if (pkt.reassembled) this.reassembled++;
    switch (pkt.proto) {
      case 17:
        t.udp++;
        if (pkt.payloadLen > 0 && looksLikeSip(pkt.payload, pkt.payloadOff, pkt.payloadLen)) {
          this.sipUdp++;
          if (this.ports.has(pkt.srcPort) || this.ports.has(pkt.dstPort)) this.sipOnPort++;
        }
        return;
      case 6:
        t.tcp++;
        if (pkt.payloadLen > 0 && looksLikeSip(pkt.payload, pkt.payloadOff, pkt.payloadLen)) {
          this.sipTcp++;
          if (this.ports.has(pkt.srcPort) || this.ports.has(pkt.dstPort)) this.sipOnPort++;
        }
        return;
      case 1:
        t.icmp++;
        if (pkt.quotedProto !== 0) this.icmpUnreachable++;
        return;
      case 58:
        t.icmpv6++;
        if (pkt.quotedProto !== 0) this.icmpUnreachable++;
        return;
      default:
        t.otherIp++;
    }
  }
}
