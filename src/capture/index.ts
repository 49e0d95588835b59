/** Capture reading: one import for the rest of the code base. */
export { ReadStatus, MAX_RECORD, MAX_BLOCK, DEFAULT_BUFFER } from './reader.js';
export type { CaptureReader, FrameSource, ReaderContext } from './reader.js';
export { openCapture } from './open.js';
export { MergeReader, openCaptures, forEachFrame } from './merge.js';
export { openByteSource } from './source.js';
export type { ByteSource } from './source.js';
export { newFrame } from './types.js';
export type { Frame, CaptureInfo, CaptureInterface, CaptureFormat } from './types.js';
