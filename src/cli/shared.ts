/** Small pieces several commands share: the SIP port option, warning lines. */
import type { Warning } from '../core/anomalies.js';
import { badUsage } from '../core/errors.js';
import { parseDuration, parseTime, type Timestamp } from '../core/time.js';
import { SEVERITY_RANK, type Finding, type Severity } from '../findings/types.js';
import { visible } from '../report/visible.js';
import { DEFAULT_SIP_PORTS } from '../sip/types.js';
import type { Io, OptionSpec } from './spec.js';

export const sipPortsOption: OptionSpec = {
  key: 'sipPort',
  flags: '--sip-port <ports>',
  description: `SIP ports, comma separated or repeated (default ${DEFAULT_SIP_PORTS.join(',')}); SIP on other ports is still found by its start line`,
  kind: 'list',
  default: DEFAULT_SIP_PORTS.map(String),
};

export function parseSipPorts(values: string[] | undefined): number[] {
  if (!values || values.length === 0) return [...DEFAULT_SIP_PORTS];
  return values.map((v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1 || n > 65535) throw badUsage(`--sip-port: not a port number: ${v}`);
    return n;
  });
}

/** One line per warning on stderr: "stalepin: warning: FILE: at byte N: message". */
export function printWarnings(io: Io, warnings: Warning[]): void {
  for (const w of warnings) {
    const where = [w.file, w.offset !== undefined ? `at byte ${w.offset}` : undefined].filter(Boolean).join(': ');
    io.stderr.write(`stalepin: warning: ${visible(where ? where + ': ' + w.message : w.message)}\n`);
  }
}

/** A duration option in nanoseconds ("500ms", "32s", "2m"); zero only when allowed. */
export function durationOption(flag: string, v: string, allowZero = false): number {
  const ns = parseDuration(v);
  if (ns === undefined || ns < 0 || (!allowZero && ns === 0)) throw badUsage(`${flag}: not a duration: ${v} (examples: 500ms, 32s, 2m)`);
  return ns;
}

/** A time option: ISO 8601 or Unix seconds. */
export function timeOption(flag: string, v: string | undefined): Timestamp | undefined {
  if (v === undefined) return undefined;
  const t = parseTime(v);
  if (!t) throw badUsage(`${flag}: not a time: ${v} (ISO 8601 such as 2026-11-23T10:30:00Z, or Unix seconds)`);
  return t;
}

/** The exit code contract: 1 when a finding is at or above --fail-on, else 0. */
export function failOnExitCode(findings: readonly Finding[], failOn: Severity | 'never'): 0 | 1 {
  if (failOn === 'never') return 0;
  const threshold = SEVERITY_RANK[failOn];
  return findings.some((f) => SEVERITY_RANK[f.severity] >= threshold) ? 1 : 0;
}
