/**
 * Exact timestamps. A capture timestamp is kept as whole seconds plus nanoseconds (two numbers,
 * no bigint and no float seconds, so the hot path allocates nothing and nothing is rounded).
 * `precision` is the number of fractional digits the source really has (6 for microsecond
 * pcap, 9 for nanosecond files, 0..9 for pcapng's if_tsresol) and is what we print.
 */
export interface Timestamp {
  sec: number;
  nsec: number;
}

/** Compare two (sec, nsec) pairs: negative, zero or positive. */
export function compareTime(aSec: number, aNsec: number, bSec: number, bNsec: number): number {
  return aSec !== bSec ? aSec - bSec : aNsec - bNsec;
}

/** Nanoseconds from a to b as a plain number (exact below 2^53 ns, about 104 days). */
export function diffNs(aSec: number, aNsec: number, bSec: number, bNsec: number): number {
  return (bSec - aSec) * 1e9 + (bNsec - aNsec);
}

const pad2 = (n: number): string => (n < 10 ? '0' + n : String(n));

/**
 * ISO 8601 UTC with exactly `precision` fractional digits: 2024-05-01T10:30:00.123456789Z.
 * Works for any second count Date can represent; the fraction comes from nsec, never a float.
 */
export function formatIso(sec: number, nsec: number, precision = 9): string {
  const base = isoSecond(sec);
  if (base === undefined) return `@${sec}.${String(nsec).padStart(9, '0')}`;
  if (precision <= 0) return base + 'Z';
  const p = precision > 9 ? 9 : precision;
  return base + '.' + (nsec >= 1e8 ? String(nsec) : String(nsec).padStart(9, '0')).slice(0, p) + 'Z';
}

/**
 * "YYYY-MM-DDTHH:MM:SS" of a Unix second, undefined when Date cannot represent it. Reports print
 * times that fall in a few seconds over and over (calls' starts and ends, a flow's INVITEs):
 * the text of a second is made once and kept in a small table indexed by the second, not made
 * again for every time printed.
 */
export function isoSecond(sec: number): string | undefined {
  const slot = sec & (ISO_SLOTS - 1);
  if (isoSec[slot] === sec) return isoBase[slot]!;
  const b = isoSeconds(sec);
  if (b === undefined) return undefined;
  isoBase[slot] = b;
  isoSec[slot] = sec;
  return b;
}

const ISO_SLOTS = 256;
const isoSec = new Float64Array(ISO_SLOTS).fill(NaN);
const isoBase: string[] = new Array<string>(ISO_SLOTS).fill('');

/** "YYYY-MM-DDTHH:MM:SS" of a Unix second, undefined when Date cannot represent it. */
function isoSeconds(sec: number): string | undefined {
  const d = new Date(sec * 1000);
  if (Number.isNaN(d.getTime())) return undefined;
  return (
    String(d.getUTCFullYear()).padStart(4, '0') +
    '-' +
    pad2(d.getUTCMonth() + 1) +
    '-' +
    pad2(d.getUTCDate()) +
    'T' +
    pad2(d.getUTCHours()) +
    ':' +
    pad2(d.getUTCMinutes()) +
    ':' +
    pad2(d.getUTCSeconds())
  );
}

/**
 * Parse an ISO 8601 time (with Z or an offset, fraction up to nanoseconds) or a Unix epoch
 * with an optional fraction ("1700000000.123456789"). Returns undefined when it is neither.
 */
export function parseTime(text: string): Timestamp | undefined {
  const t = text.trim();
  const epoch = /^(\d{1,12})(?:\.(\d{1,9}))?$/.exec(t);
  if (epoch) return { sec: Number(epoch[1]), nsec: Number((epoch[2] ?? '').padEnd(9, '0')) };
  const iso = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2})?)(?:\.(\d{1,9}))?(Z|[+-]\d{2}:?\d{2})?$/i.exec(t);
  if (!iso) return undefined;
  const zone = iso[4] === undefined || iso[4].toUpperCase() === 'Z' ? 'Z' : iso[4];
  const ms = Date.parse(`${iso[1]}T${iso[2]}${zone}`);
  if (Number.isNaN(ms)) return undefined;
  return { sec: Math.floor(ms / 1000), nsec: Number((iso[3] ?? '').padEnd(9, '0')) };
}

/** Parse a duration such as "500ms", "32s", "2m", "1h", "1.5s" into nanoseconds. */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(ns|us|ms|s|m|h)?$/.exec(text.trim());
  if (!m) return undefined;
  const unit = m[2] ?? 's';
  const scale = { ns: 1, us: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 }[unit]!;
  return Math.round(Number(m[1]) * scale);
}
