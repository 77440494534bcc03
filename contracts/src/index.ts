export * from './event-types.js';
export * from './events.js';
export * from './envelope.js';
export * from './schemas.js';
export * from './validation.js';
export * from './errors.js';
export * from './decider.js';
export * from './samples.js';
