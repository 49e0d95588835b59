/** Options and helpers the SIP commands (messages, calls, flow) share. */
import { badUsage } from '../../core/errors.js';
import { parseDuration } from '../../core/time.js';
import type { SipRunOptions } from '../../sip/source.js';
import { DEFAULT_TIMER_B_NS } from '../../sip/types.js';
import { parseSipPorts, sipPortsOption } from '../shared.js';
import type { Io, OptionSpec } from '../spec.js';
import { progressBar } from '../progress.js';
import { visible } from '../../report/visible.js';

export const timerBOption: OptionSpec = {
  key: 'timerB',
  flags: '--timer-b <duration>',
  description: `how long an INVITE may go without any response before it counts as unanswered (RFC 3261 timer B; default ${DEFAULT_TIMER_B_NS / 1e9}s)`,
  kind: 'string',
  default: `${DEFAULT_TIMER_B_NS / 1e9}s`,
};

export const sipOptions: OptionSpec[] = [sipPortsOption, timerBOption];

export interface SipCommonOptions {
  sipPort: string[];
  timerB: string;
  quiet: boolean;
}

export function sipRunOptions(files: string[], o: SipCommonOptions, io: Io): { opts: SipRunOptions; done: () => void } {
  const ns = parseDuration(o.timerB ?? '32s');
  if (ns === undefined || ns <= 0) throw badUsage(`--timer-b: not a duration: ${o.timerB} (examples: 32s, 500ms, 2m)`);
  const progress = progressBar(io.stderr, !o.quiet);
  return {
    opts: {
      files,
      stdin: io.stdin,
      signal: io.signal,
      onProgress: progress.update,
      sipPorts: parseSipPorts(o.sipPort),
      tracker: { timerBNs: ns },
    },
    done: progress.done,
  };
}

/** Buffered writes to a stream: one write per ~1 MB instead of one per record. */
export class ChunkWriter {
  private parts: string[] = [];
  private size = 0;
  constructor(private readonly out: NodeJS.WritableStream) {}
  write(s: string): void {
    this.parts.push(s);
    this.size += s.length;
    if (this.size >= 1 << 20) this.flush();
  }
  flush(): void {
    if (this.parts.length === 0) return;
    this.out.write(this.parts.join(''));
    this.parts = [];
    this.size = 0;
  }
}

/** Fixed-width cell: pad, or keep a long value whole (a table never hides part of a value). */
export function pad(s: string, w: number): string {
  return s.length >= w ? s : s + ' '.repeat(w - s.length);
}

/** CSV field per RFC 4180. */
export function csvField(s: string): string {
  // Visible first: a CSV printed to a terminal must not carry escape sequences either.
  const v = visible(s);
  return /[",\r\n]/.test(v) ? '"' + v.replace(/"/g, '""') + '"' : v;
}

/** Nanoseconds as seconds with millisecond digits ("1.203"), '' for -1. */
export function seconds(ns: number): string {
  return ns < 0 ? '' : (ns / 1e9).toFixed(3);
}
