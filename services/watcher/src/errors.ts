import { ConformError } from '@conform/contracts';

/** Base of the watcher's errors; `code` is stable for programs to match on. */
export class WatcherError extends ConformError {
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'WatcherError';
  }
}

/** A configured library root cannot be watched (missing, not a directory, unreadable). */
export class LibraryRootError extends WatcherError {
  readonly root: string;
  constructor(root: string, reason: string, options?: { cause?: unknown }) {
    super('LIBRARY_ROOT', `cannot watch library ${root}: ${reason}`, options);
    this.name = 'LibraryRootError';
    this.root = root;
  }
}
