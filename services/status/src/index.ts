export * from './errors.js';
export * from './metrics.js';
export * from './server.js';
export * from './live.js';
