// How many inotify watches are left for us: the kernel's per-user limit minus the watches this
// user's processes hold already, minus a reserve for everything else the user runs.
import { readdir, readFile, readlink } from 'node:fs/promises';

export const MAX_USER_WATCHES_FILE = '/proc/sys/fs/inotify/max_user_watches';

/**
 * The watches left: `limit - inUse - reserve`, where the reserve (a tenth of the limit, at most
 * 1,024) is left for other programs (editors, file managers, other watchers). Pure.
 */
export function watchesLeft(limit: number, inUse: number): number {
  const reserve = Math.min(1_024, Math.floor(limit / 10));
  return Math.max(0, limit - inUse - reserve);
}

/**
 * Reads the limit and the watches in use from /proc (the inotify file descriptors of every
 * process we may look into: the limit is per user, and those are the user's). Where there is
 * no such file (not Linux), there is no known limit: Infinity.
 */
export async function availableInotifyWatches(proc = '/proc'): Promise<number> {
  const raw = await readFile(`${proc}/sys/fs/inotify/max_user_watches`, 'utf8').catch(() => null);
  const limit = raw === null ? NaN : Number(raw.trim());
  if (!Number.isFinite(limit)) return Infinity;
  return watchesLeft(limit, await inotifyWatchesInUse(proc));
}

/** Inotify watches held by the processes whose descriptors we can read. */
export async function inotifyWatchesInUse(proc = '/proc'): Promise<number> {
  let watches = 0;
  const pids = (await readdir(proc).catch(() => [])).filter((p) => /^\d+$/.test(p));
  for (const pid of pids) {
    const fds = await readdir(`${proc}/${pid}/fd`).catch(() => []);
    for (const fd of fds) {
      const target = await readlink(`${proc}/${pid}/fd/${fd}`).catch(() => '');
      if (target !== 'anon_inode:inotify') continue;
      const info = await readFile(`${proc}/${pid}/fdinfo/${fd}`, 'utf8').catch(() => '');
      for (const line of info.split('\n')) if (line.startsWith('inotify wd:')) watches++;
    }
  }
  return watches;
}
