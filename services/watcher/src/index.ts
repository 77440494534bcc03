export * from './errors.js';
export * from './filters.js';
export { stabilityDecider, isQuietByMtime } from './decide-stability.js';
export type { StabilityInput, StabilityEvent, PathStability } from './decide-stability.js';
export { startWatcher, DEFAULT_STABILITY_WINDOW_MS } from './service.js';
export type { WatcherOptions } from './service.js';
export { observePath } from './library-fs.js';
export type { WatchedLibrary, PathObservation } from './library-fs.js';
