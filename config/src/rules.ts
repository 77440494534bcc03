import { invalidAt } from './config-errors.js';
import type { LibraryConfig } from './quality.js';
import type { YamlSource } from './yaml-source.js';

// The rules stage: what the schema cannot say about one key alone, checked on the normalised
// libraries (integrations have theirs in integrations.ts).

/** Libraries may not overlap each other, nor an archive its library. */
export function checkLibraries(src: YamlSource, libraries: LibraryConfig[]): void {
  libraries.forEach((lib, i) => {
    const at = (key: string) => `/libraries/${i}/${key}`;
    libraries.slice(0, i).forEach((other) => {
      if (overlaps(lib.root, other.root)) {
        throw invalidAt(src, at('root'), `library ${lib.root} overlaps library ${other.root}`);
      }
    });
    if (lib.archive && overlaps(lib.archive, lib.root)) {
      throw invalidAt(
        src,
        at('archive'),
        `archive ${lib.archive} overlaps library ${lib.root}: archived originals would be watched again; expected a folder outside it`,
      );
    }
  });
}

function overlaps(a: string, b: string): boolean {
  return a === b || a.startsWith(b + '/') || b.startsWith(a + '/');
}
