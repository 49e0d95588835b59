/**
 * The one error class that crosses from the core to the CLI (DESIGN principle 7).
 * The core never prints or exits; the CLI maps `exitCode` and prints `message` as one line.
 */
export type ErrorCode =
  | 'bad_usage' // wrong options or arguments
  | 'bad_input' // unreadable or malformed input file
  | 'missing_dependency' // a binary or library the command needs is absent
  | 'permission' // a privilege or capability is missing
  | 'internal'; // a bug: exit 3

export interface ErrorLocation {
  /** The file name as the user typed it. */
  file?: string;
  /** Byte offset into the (decompressed) input. */
  offset?: number;
  /** 1-based line number for text inputs. */
  line?: number;
}

export class StalepinError extends Error {
  readonly code: ErrorCode;
  readonly location: ErrorLocation;

  constructor(code: ErrorCode, message: string, location: ErrorLocation = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StalepinError';
    this.code = code;
    this.location = location;
  }

  get exitCode(): number {
    return this.code === 'internal' ? 3 : 2;
  }

  /** One line for stderr: "file: at byte N: message". */
  oneLine(): string {
    const parts: string[] = [];
    if (this.location.file !== undefined) parts.push(this.location.file);
    if (this.location.line !== undefined) parts.push(`line ${this.location.line}`);
    else if (this.location.offset !== undefined) parts.push(`at byte ${this.location.offset}`);
    const where = parts.length ? parts.join(': ') + ': ' : '';
    return where + this.message.replace(/[\r\n]+/g, ' ');
  }
}

export function badInput(message: string, location: ErrorLocation = {}): StalepinError {
  return new StalepinError('bad_input', message, location);
}

export function badUsage(message: string): StalepinError {
  return new StalepinError('bad_usage', message);
}
