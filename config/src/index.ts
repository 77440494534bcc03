export * from './errors.js';
export * from './yaml-source.js';
export * from './quality.js';
export * from './glob.js';
export * from './integrations.js';
export * from './config-doc.js';
export * from './schema.js';
export * from './quality-schema.js';
