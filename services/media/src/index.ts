export * from './errors.js';
export * from './probe.js';
export * from './progress.js';
export * from './ffmpeg.js';
export * from './clip.js';
export * from './encoders.js';
export * from './colour.js';
export * from './testing.js';
