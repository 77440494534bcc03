export * from './errors.js';
export * from './policy.js';
export * from './glob.js';
export * from './decide.js';
export * from './known-files.js';
export * from './service.js';
export * from './dry-run.js';
