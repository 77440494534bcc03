export * from './errors.js';
export * from './filters.js';
export * from './stability.js';
export { startWatcher, observePath, DEFAULT_STABILITY_WINDOW_MS } from './watcher.js';
export type { WatchedLibrary, WatcherOptions, PathObservation } from './watcher.js';
