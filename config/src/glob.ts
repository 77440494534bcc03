/**
 * Whether a path relative to its library matches an exclusion glob: `**` spans folders, `*` and
 * `?` stay inside one, matching ignores case (libraries move between file systems). Pure.
 */
export function matchesGlob(relativePath: string, glob: string): boolean {
  return globToRegExp(glob).test(relativePath.split('\\').join('/'));
}

const cache = new Map<string, RegExp>();

function globToRegExp(glob: string): RegExp {
  let re = cache.get(glob);
  if (re) return re;
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*' && glob[i + 1] === '*') {
      // `**/` also matches no folder at all, so `**/Extras/**` matches `Extras/x.mkv`.
      if (glob[i + 2] === '/') {
        out += '(?:.*/)?';
        i += 2;
      } else {
        out += '.*';
        i += 1;
      }
    } else if (c === '*') out += '[^/]*';
    else if (c === '?') out += '[^/]';
    else out += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  re = new RegExp(`^${out}$`, 'i');
  cache.set(glob, re);
  return re;
}
