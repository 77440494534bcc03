export * from './errors.js';
export * from './paths.js';
export * from './plan.js';
export * from './apply.js';
export * from './restore.js';
export * from './retention.js';
export * from './archiver.js';
