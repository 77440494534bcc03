import { link, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { StateDirLockedError } from './errors.js';
import { processStartTime, sameProcessAlive } from './process-info.js';

/** The lock file's name inside the state directory. */
export const STATE_LOCK_FILE = 'conform.lock';

/** What the lock file records: who holds it, and since when (to tell a reused pid apart). */
export interface LockHolder {
  pid: number;
  startTime: string | null;
  since: string;
}

/** A held lock; `release` removes it if it is still ours. */
export interface StateLock {
  path: string;
  release(): Promise<void>;
}

/**
 * Takes the state directory's lock: `conform.lock` holding this process's pid and start time.
 * It is created with `link` (atomic, fails if the file exists), so of two conform processes
 * starting at once exactly one wins. A lock whose holder is dead (SIGKILL, power loss) or whose
 * pid now belongs to another process is stale and taken over; one held by a live process is a
 * {@link StateDirLockedError} naming its pid.
 */
export async function acquireStateLock(stateDir: string): Promise<StateLock> {
  const path = join(stateDir, STATE_LOCK_FILE);
  const me: LockHolder = {
    pid: process.pid,
    startTime: await processStartTime(process.pid),
    since: new Date().toISOString(),
  };
  const staged = `${path}.${process.pid}.tmp`;
  await writeFile(staged, `${JSON.stringify(me)}\n`);
  try {
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        await link(staged, path);
        return { path, release: () => releaseIfOurs(path, me) };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const holder = await readHolder(path);
      if (
        holder &&
        holder.pid !== process.pid &&
        (await sameProcessAlive(holder.pid, holder.startTime))
      ) {
        throw new StateDirLockedError(stateDir, holder.pid);
      }
      // Stale (or unreadable): move it aside rather than delete it, so a racing process that
      // just took the lock over is not undone by a blind unlink; then try again.
      await rename(path, `${path}.stale`).catch(() => undefined);
    }
    throw new Error(`could not take the lock ${path}: it keeps changing hands`);
  } finally {
    await rm(staged, { force: true });
  }
}

/** The holder recorded in a lock file, or null if it is missing or not a lock. */
export async function readHolder(path: string): Promise<LockHolder | null> {
  try {
    const parsed = JSON.parse(await readFile(path, 'utf8')) as Partial<LockHolder>;
    if (typeof parsed.pid !== 'number') return null;
    return {
      pid: parsed.pid,
      startTime: typeof parsed.startTime === 'string' ? parsed.startTime : null,
      since: String(parsed.since ?? ''),
    };
  } catch {
    return null;
  }
}

async function releaseIfOurs(path: string, me: LockHolder): Promise<void> {
  const holder = await readHolder(path);
  if (holder?.pid === me.pid && holder.startTime === me.startTime) await rm(path, { force: true });
}
