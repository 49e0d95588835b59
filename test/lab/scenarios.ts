/**
 * sipp scenarios for the lab's client. The backends run sipp's built-in `uas` scenario.
 *
 * The INVITE is sent with retrans="500": sipp then retransmits an unanswered INVITE over UDP
 * after 0.5, 1, 2, 4 s ... (RFC 3261 timer A, T1 = 500 ms), which is the trace an SRE sees
 * for a pinned flow. The run limits the count with -max_invite_retrans so the lab stays short.
 */

function sdpBody(big: boolean): string {
  const lines = [
    'v=0',
    'o=carrier 53655765 2353687637 IN IP[local_ip_type] [local_ip]',
    's=-',
    'c=IN IP[media_ip_type] [media_ip]',
    't=0 0',
    'm=audio [media_port] RTP/AVP 0 8 9 18 101',
    'a=rtpmap:0 PCMU/8000',
    'a=rtpmap:8 PCMA/8000',
    'a=rtpmap:9 G722/8000',
    'a=rtpmap:18 G729/8000',
    'a=fmtp:18 annexb=no',
    'a=rtpmap:101 telephone-event/8000',
    'a=fmtp:101 0-16',
    'a=ptime:20',
    'a=sendrecv',
  ];
  if (big) {
    // A WebRTC-gateway style offer: ICE candidates and SRTP keys push the datagram past the
    // 1500-byte MTU, so the client's IP layer sends it as fragments.
    for (let i = 0; i < 24; i++) {
      const prio = 2130706431 - i * 256;
      lines.push(
        `a=candidate:${1000 + i} 1 udp ${prio} [media_ip] ${20000 + 2 * i} typ host generation 0 network-id ${i % 4}`,
      );
    }
    for (let i = 0; i < 6; i++) {
      const key = Buffer.from(`stalepin-lab-srtp-key-${i}-0123456789abcdef`).toString('base64').slice(0, 40);
      lines.push(`a=crypto:${i + 1} AES_CM_128_HMAC_SHA1_80 inline:${key}|2^31|${i + 1}:1`);
    }
    lines.push('a=ice-ufrag:stalepinlab', 'a=ice-pwd:0123456789abcdefghijklmnop', 'a=rtcp-mux');
  }
  return lines.join('\n');
}

/** INVITE, 100/180 optional, 200, ACK, a short call, BYE, 200. */
export function uacScenario(bigSdp: boolean): string {
  return `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="stalepin-lab-uac">
  <send retrans="500">
    <![CDATA[

      INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "carrier" <sip:carrier@[local_ip]:[local_port]>;tag=[pid]SPtag[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: <sip:carrier@[local_ip]:[local_port];transport=[transport]>
      Max-Forwards: 70
      User-Agent: stalepin-lab carrier
      Content-Type: application/sdp
      Content-Length: [len]

${indent(sdpBody(bigSdp))}

    ]]>
  </send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="200" rtd="true"/>
  <send>
    <![CDATA[

      ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "carrier" <sip:carrier@[local_ip]:[local_port]>;tag=[pid]SPtag[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Contact: <sip:carrier@[local_ip]:[local_port];transport=[transport]>
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <pause milliseconds="200"/>
  <send retrans="500">
    <![CDATA[

      BYE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "carrier" <sip:carrier@[local_ip]:[local_port]>;tag=[pid]SPtag[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 2 BYE
      Contact: <sip:carrier@[local_ip]:[local_port];transport=[transport]>
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <recv response="200" crlf="true"/>
</scenario>
`;
}

/** The health check: one OPTIONS from a fresh source port, answered by the UAS's -aa. */
export function optionsScenario(): string {
  return `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="stalepin-lab-options">
  <send retrans="500">
    <![CDATA[

      OPTIONS sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:healthcheck@[local_ip]:[local_port]>;tag=[pid]SPtag[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 OPTIONS
      Max-Forwards: 70
      User-Agent: stalepin-lab healthcheck
      Content-Length: 0

    ]]>
  </send>
  <recv response="200"/>
</scenario>
`;
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => '      ' + l)
    .join('\n');
}
