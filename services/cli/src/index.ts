export * from './errors.js';
export * from './settings.js';
export * from './runtime.js';
export * from './demo-library.js';
