export * from './errors.js';
export * from './args.js';
export * from './decide.js';
export * from './service.js';
