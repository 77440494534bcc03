// Globs are quality.yaml syntax, shared with the watcher's include/exclude: one matcher.
export { matchesGlob } from '@conform/config';
