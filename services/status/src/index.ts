export * from './errors.js';
export * from './metrics.js';
export * from './server.js';
export * from './live.js';
export * from './detail.js';
export * from './pause-state.js';
