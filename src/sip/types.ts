/**
 * What the SIP layer needs to know about where a message came from. The pipeline fills one
 * context per delivered message (UDP datagram or framed TCP message) and may reuse it: the
 * tracker copies what it keeps.
 */
export type SipTransport = 'udp' | 'tcp';

export interface SipContext {
  /** Capture time of the frame that completed the message. */
  sec: number;
  nsec: number;
  /** Fractional digits the capture really has. */
  precision: number;
  transport: SipTransport;
  /** Endpoints formatted by core/address: "ip:port" or "[v6]:port". */
  src: string;
  dst: string;
  /** `src` as core/address ipv4EndpointKey (-1: not an IPv4 endpoint). */
  srcKey: number;
  srcIp: string;
  srcPort: number;
  dstIp: string;
  dstPort: number;
  /** Global interface index of the frame (Frame.ifIndex). */
  ifIndex: number;
}

export function newSipContext(): SipContext {
  return {
    sec: 0,
    nsec: 0,
    precision: 6,
    transport: 'udp',
    src: '',
    dst: '',
    srcKey: -1,
    srcIp: '',
    srcPort: 0,
    dstIp: '',
    dstPort: 0,
    ifIndex: 0,
  };
}

/** Default SIP ports: 5060 (RFC 3261) and 5080 (the common second listener). */
export const DEFAULT_SIP_PORTS: readonly number[] = [5060, 5080];

/** RFC 3261 timer B (64 * T1): an INVITE with no response by then is unanswered. */
export const DEFAULT_TIMER_B_NS = 32e9;
