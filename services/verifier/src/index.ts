export * from './errors.js';
export * from './verify.js';
export * from './service.js';
