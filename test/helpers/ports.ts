/**
 * Free UDP ports for tests that bind a port of their own choosing (the probe's fixed source
 * port). They are picked below the kernel's ephemeral range: a port inside it can be handed to
 * any socket another test file binds to port 0 between this check and the probe's own bind, and
 * the probe then fails with EADDRINUSE.
 */
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';

/** First port of the range the kernel picks from for port 0 (32768 when it cannot be read). */
function ephemeralLow(): number {
  try {
    const lo = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    if (Number.isInteger(lo) && lo > 0) return lo;
  } catch {
    // not Linux, or /proc not mounted
  }
  return 32768;
}

const LOW = 10000;

/** A port p such that p and p + 1 are both free for UDP right now. */
export async function freeUdpPortPair(): Promise<number> {
  const end = ephemeralLow();
  // Below the ephemeral range when there is room for it; else anywhere above LOW.
  const [from, span] = end - LOW > 1000 ? [LOW, end - LOW - 1] : [LOW, 65535 - LOW - 1];
  for (let i = 0; i < 50; i++) {
    const port = from + Math.floor(Math.random() * span);
    const ok = await Promise.all([canBind(port), canBind(port + 1)]);
    if (ok[0] && ok[1]) return port;
  }
  throw new Error('no free UDP port pair found');
}

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    s.once('error', () => {
      s.close();
      resolve(false);
    });
    s.bind(port, '0.0.0.0', () => s.close(() => resolve(true)));
  });
}
