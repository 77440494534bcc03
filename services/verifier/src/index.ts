export * from './errors.js';
export * from './facts.js';
export * from './passes.js';
export * from './tool.js';
export * from './verify.js';
export * from './service.js';
export * from './streams.js';
