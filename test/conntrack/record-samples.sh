#!/usr/bin/env bash
# Records real-kernel conntrack output in every format stalepin reads, from a throw-away
# three-namespace topology: client -> LB (nft DNAT, the conntrack table we dump) -> backends.
# Run as root: bash test/conntrack/record-samples.sh [OUTDIR]   (default fixtures/conntrack/real)
#
# Only documentation addresses (RFC 5737, RFC 3849); only namespaces this run creates (prefix
# spct-PID-); everything is removed on exit. The whole run lives in a private mount namespace
# with /etc overlaid, so the connlabel.conf that `ct label` and `conntrack -o labels` need
# never touches the host's /etc.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/../../fixtures/conntrack/real}
mkdir -p "$out"
out=$(cd "$out" && pwd)

if [[ $(id -u) -ne 0 ]]; then echo "record-samples: needs root (network namespaces, nft, conntrack)" >&2; exit 77; fi
for b in ip nft conntrack python3 unshare; do
  command -v "$b" >/dev/null || { echo "record-samples: $b is not installed" >&2; exit 77; }
done

if [[ -z ${SPCT_PRIVATE_MNT:-} ]]; then
  exec unshare -m --propagation private env SPCT_PRIVATE_MNT=1 bash "$0" "$out"
fi

tmp=$(mktemp -d /tmp/spct-rec.XXXXXX)
p="spct-$$-"
C=${p}c; L=${p}lb; B=${p}b
pids=()

cleanup() {
  set +e
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
  wait 2>/dev/null
  for ns in "$C" "$L" "$B"; do ip netns del "$ns" 2>/dev/null; done
  umount /etc 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

mkdir -p "$tmp/up" "$tmp/work"
mount -t overlay overlay -o "lowerdir=/etc,upperdir=$tmp/up,workdir=$tmp/work" /etc
mkdir -p /etc/xtables
printf '0 sip-carrier\n1 pinned\n5 audit\n' > /etc/xtables/connlabel.conf
cp /etc/xtables/connlabel.conf /etc/connlabel.conf

inC() { ip netns exec "$C" "$@"; }
inL() { ip netns exec "$L" "$@"; }
inB() { ip netns exec "$B" "$@"; }

for ns in "$C" "$L" "$B"; do ip netns add "$ns"; ip -n "$ns" link set lo up; done
ip link add "${p}c0" netns "$C" type veth peer name "${p}l0" netns "$L"
ip link add "${p}b0" netns "$B" type veth peer name "${p}l1" netns "$L"
ip -n "$C" link set "${p}c0" name eth0; ip -n "$L" link set "${p}l0" name cli0
ip -n "$B" link set "${p}b0" name eth0; ip -n "$L" link set "${p}l1" name be0
for ns in "$C" "$B"; do ip -n "$ns" link set eth0 up; done
ip -n "$L" link set cli0 up; ip -n "$L" link set be0 up

# Addresses: client 192.0.2.10 / 2001:db8:c::10, LB 192.0.2.1 + 198.51.100.1, VIP 203.0.113.10 /
# 2001:db8:f::10 on the LB's loopback, backends 198.51.100.20 and .21 / 2001:db8:b::20.
ip -n "$C" addr add 192.0.2.10/24 dev eth0
ip -n "$C" addr add 2001:db8:c::10/64 dev eth0 nodad
ip -n "$C" route add 203.0.113.0/24 via 192.0.2.1
ip -n "$C" route add 198.51.100.0/24 via 192.0.2.1
ip -n "$C" -6 route add 2001:db8:f::/64 via 2001:db8:c::1
ip -n "$C" -6 route add 2001:db8:b::/64 via 2001:db8:c::1
ip -n "$L" addr add 192.0.2.1/24 dev cli0
ip -n "$L" addr add 2001:db8:c::1/64 dev cli0 nodad
ip -n "$L" addr add 198.51.100.1/24 dev be0
ip -n "$L" addr add 2001:db8:b::1/64 dev be0 nodad
ip -n "$L" addr add 203.0.113.10/32 dev lo
ip -n "$L" addr add 2001:db8:f::10/128 dev lo
ip -n "$B" addr add 198.51.100.20/24 dev eth0
ip -n "$B" addr add 198.51.100.21/24 dev eth0
ip -n "$B" addr add 2001:db8:b::20/64 dev eth0 nodad
ip -n "$B" route add default via 198.51.100.1
ip -n "$B" -6 route add default via 2001:db8:b::1
inL sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
inL sysctl -qw net.netfilter.nf_conntrack_timestamp=1 net.netfilter.nf_conntrack_acct=1

# Port 5060: the SIP service pinned to backend .20; 5070: a backend that no longer exists
# (198.51.100.30: nothing answers, the entry stays [UNREPLIED], the stale-pin case);
# 5080: second backend, source-NATed on the way (masquerade) so the reply tuple differs on
# both sides; 5062: conntrack zone 7; marks and labels on the 5060 flows.
inL nft -f - <<'NFT'
table inet spct {
  chain c_raw {
    type filter hook prerouting priority raw;
    udp dport 5062 ct zone set 7
  }
  chain c_pre {
    type nat hook prerouting priority dstnat;
    ip daddr 203.0.113.10 udp dport { 5060, 5062 } dnat ip to 198.51.100.20:5060
    ip daddr 203.0.113.10 tcp dport 5060 dnat ip to 198.51.100.20:5060
    ip daddr 203.0.113.10 udp dport 5070 dnat ip to 198.51.100.30:5060
    ip daddr 203.0.113.10 udp dport 5080 dnat ip to 198.51.100.21:5060
    ip6 daddr 2001:db8:f::10 udp dport 5060 dnat ip6 to [2001:db8:b::20]:5060
    ip6 daddr 2001:db8:f::10 tcp dport 5060 dnat ip6 to [2001:db8:b::20]:5060
  }
  chain c_fwd {
    type filter hook forward priority filter;
    ip daddr 198.51.100.20 udp dport 5060 ct mark set 0x2a
    ip daddr 198.51.100.20 udp dport 5060 ct label set sip-carrier
    ip daddr 198.51.100.20 udp dport 5060 ct label set audit
  }
  chain c_post {
    type nat hook postrouting priority srcnat;
    ip daddr 198.51.100.21 masquerade
  }
}
NFT

# Backend: UDP echo and a TCP server on :5060 (v4 and v6).
cat > "$tmp/backend.py" <<'PY'
import socket, threading
def sock(fam, kind):
    s = socket.socket(fam, kind)
    if fam == socket.AF_INET6: s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    return s
def udp(fam, addr):
    s = sock(fam, socket.SOCK_DGRAM); s.bind((addr, 5060))
    while True:
        d, a = s.recvfrom(4096); s.sendto(b"SIP/2.0 200 OK\r\n\r\n", a)
def tcp(fam, addr):
    s = sock(fam, socket.SOCK_STREAM); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, 5060)); s.listen(8)
    while True:
        c, a = s.accept()
        def serve(c=c):
            while True:
                d = c.recv(4096)
                if not d: c.close(); return
                c.sendall(b"SIP/2.0 200 OK\r\n\r\n")
        threading.Thread(target=serve, daemon=True).start()
for f, a in ((socket.AF_INET, "0.0.0.0"), (socket.AF_INET6, "::")):
    threading.Thread(target=udp, args=(f, a), daemon=True).start()
    threading.Thread(target=tcp, args=(f, a), daemon=True).start()
threading.Event().wait()
PY
ip netns exec "$B" python3 "$tmp/backend.py" & pids+=($!)

# Event listeners first, so the streams see every flow being born.
# Started directly (not through inL) so that $! is the process itself: `ip netns exec` execs
# its command, and the trap must reach conntrack, not a subshell. Line-buffered, so a kill
# never cuts a line in half.
ev() { local f=$1; shift; ip netns exec "$L" stdbuf -oL conntrack -E "$@" >"$out/$f" 2>&1 & pids+=($!); }
ev events-default.txt
ev events-timestamp.txt -o timestamp
ev events-id.txt -o id
ev events-timestamp-id.txt -o timestamp,id
ev events-extended-timestamp-id.txt -o extended,timestamp,id
ev events-ktimestamp.txt -o ktimestamp
ev events-xml-timestamp.txt -o xml,timestamp
sleep 1.5

# Client traffic. Fixed source ports, as the carriers that get pinned do.
cat > "$tmp/client.py" <<'PY'
import socket, struct, time
def udp(fam, src, sport, dst, dport, n=3, wait=True):
    s = socket.socket(fam, socket.SOCK_DGRAM); s.bind((src, sport)); s.settimeout(0.3)
    for _ in range(n):
        s.sendto(b"INVITE sip:x@example.invalid SIP/2.0\r\n\r\n", (dst, dport))
        try: s.recvfrom(4096)
        except OSError: pass
    s.close()
def tcp(fam, src, sport, dst, close):
    s = socket.socket(fam, socket.SOCK_STREAM); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((src, sport)); s.connect((dst, 5060)); s.sendall(b"OPTIONS sip:x SIP/2.0\r\n\r\n"); s.recv(100)
    if close: s.close(); return None
    return s
def csum(b):
    if len(b) % 2: b += b"\0"
    t = sum(struct.unpack("!%dH" % (len(b) // 2), b)); t = (t >> 16) + (t & 0xffff); t += t >> 16
    return ~t & 0xffff
def ping4(dst, ident):
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP); s.settimeout(0.5)
    h = struct.pack("!BBHHH", 8, 0, 0, ident, 1) + b"stalepin"
    h = h[:2] + struct.pack("!H", csum(h)) + h[4:]
    s.sendto(h, (dst, 0))
    try: s.recv(200)
    except OSError: pass
def ping6(dst, ident):
    s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6); s.settimeout(0.5)
    s.sendto(struct.pack("!BBHHH", 128, 0, 0, ident, 1) + b"stalepin", (dst, 0))
    try: s.recv(200)
    except OSError: pass
def crc32c(b):
    c = 0xffffffff
    for x in b:
        c ^= x
        for _ in range(8): c = (c >> 1) ^ (0x82f63b78 if c & 1 else 0)
    return ~c & 0xffffffff
def sctp_init(dst):
    # One SCTP INIT to a backend with no SCTP listener: a real sctp entry in CLOSED state.
    init = struct.pack("!BBHIIHHI", 1, 0, 20, 0x1234abcd, 65535, 1, 1, 0x1000)
    pkt = bytearray(struct.pack("!HHII", 3868, 3868, 0, 0) + init)
    pkt[8:12] = struct.pack("<I", crc32c(bytes(pkt)))
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 132); s.sendto(bytes(pkt), (dst, 0))
def generic(dst):
    # IP protocol 253 (RFC 3692 experimental): the tracker keeps it as a generic entry.
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 253); s.sendto(b"stalepin-generic", (dst, 0))
udp(socket.AF_INET, "192.0.2.10", 5060, "203.0.113.10", 5060)
udp(socket.AF_INET, "192.0.2.10", 5062, "203.0.113.10", 5062)
udp(socket.AF_INET, "192.0.2.10", 5061, "203.0.113.10", 5070)
udp(socket.AF_INET, "192.0.2.10", 5063, "203.0.113.10", 5080)
udp(socket.AF_INET6, "2001:db8:c::10", 5060, "2001:db8:f::10", 5060)
held = [tcp(socket.AF_INET, "192.0.2.10", 40000, "203.0.113.10", False),
        tcp(socket.AF_INET6, "2001:db8:c::10", 40001, "2001:db8:f::10", False)]
tcp(socket.AF_INET, "192.0.2.10", 40002, "203.0.113.10", True)
ping4("203.0.113.10", 0x5a5a); ping4("198.51.100.20", 0x1111)
ping6("2001:db8:f::10", 0x6b6b); ping6("2001:db8:b::20", 0x2222)
sctp_init("198.51.100.20"); generic("198.51.100.20")
time.sleep(1.0)
open(__import__("sys").argv[1], "w").write("ok\n")
time.sleep(60)
PY
ip netns exec "$C" python3 "$tmp/client.py" "$tmp/client.done" & pids+=($!)
for _ in $(seq 100); do [[ -f $tmp/client.done ]] && break; sleep 0.1; done
[[ -f $tmp/client.done ]] || { echo "record-samples: client traffic did not finish" >&2; exit 1; }

# A userspace-made entry and a userspace update, so the event streams carry [USERSPACE].
inL conntrack -I -p udp -s 192.0.2.99 -d 203.0.113.10 --sport 5060 --dport 5060 \
  -r 198.51.100.20 -q 192.0.2.99 --reply-port-src 5060 --reply-port-dst 5060 -t 120 -m 7 >/dev/null 2>&1 || true
inL conntrack -U -p udp -s 192.0.2.99 -m 8 >/dev/null 2>&1 || true
sleep 0.5

for o in default extended id extended,id ktimestamp labels save xml xml,ktimestamp extended,id,ktimestamp,labels; do
  name=${o//,/-}
  if [[ $o == default ]]; then args=(); else args=(-o "$o"); fi
  # stderr too: the "N flow entries have been shown." line is part of what users paste.
  # The file ends with that line, as after `conntrack -L > f 2>&1` once stdout is flushed.
  inL conntrack -L "${args[@]}" >"$out/list-$name.txt" 2>"$tmp/err"; cat "$tmp/err" >>"$out/list-$name.txt"
  inL conntrack -L -f ipv6 "${args[@]}" >"$out/list6-$name.txt" 2>"$tmp/err"; cat "$tmp/err" >>"$out/list6-$name.txt"
done
inL cat /proc/net/nf_conntrack >"$out/proc-nf_conntrack.txt" 2>/dev/null || rm -f "$out/proc-nf_conntrack.txt"

# Ends every flow: DESTROY events with [USERSPACE] in the streams.
inL conntrack -D -p icmp >/dev/null 2>&1 || true
inL conntrack -D -p udp -s 192.0.2.99 >/dev/null 2>&1 || true
sleep 1
{
  echo "# recorded by test/conntrack/record-samples.sh"
  echo "# date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "# kernel: $(uname -r)"
  echo "# $(conntrack --version 2>&1)"
  echo "# $(nft --version 2>&1)"
} >"$out/RECORDED.txt"
echo "record-samples: wrote $(ls "$out" | wc -l) files to $out"
