export * from './errors.js';
export * from './schema.js';
export * from './projection.js';
export * from './files.js';
export * from './dead-letters.js';
export * from './checkpoint.js';
export * from './read-models.js';
export * from './projector.js';
