export * from './errors.js';
export * from './yaml-source.js';
export * from './quality.js';
export * from './glob.js';
export * from './integrations.js';
