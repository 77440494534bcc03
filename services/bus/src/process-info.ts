import { readFile, readdir } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

// Process identity from /proc (Linux, where conform runs). A pid alone is not an identity: in a
// container the same small pid comes back after every restart, so a lock or pid file also
// records the process's start time and a match needs both.

/** The process's start time in clock ticks since boot (field 22 of /proc/PID/stat), or null. */
export async function processStartTime(pid: number): Promise<string | null> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may itself contain spaces or ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19] ?? null;
  } catch {
    return null;
  }
}

/** Whether a process with this pid exists (any owner). */
export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether `pid` is alive and still the process that recorded `startTime` (null: unknown). */
export async function sameProcessAlive(pid: number, startTime: string | null): Promise<boolean> {
  if (!Number.isInteger(pid) || pid <= 0 || !processExists(pid)) return false;
  if (startTime === null) return true;
  const now = await processStartTime(pid);
  return now === null || now === startTime;
}

/** A process's argument vector, or null if it is gone or unreadable. */
export async function processArgs(pid: number): Promise<string[] | null> {
  try {
    const raw = await readFile(`/proc/${pid}/cmdline`, 'utf8');
    return raw.split('\0').filter((a, i, all) => a !== '' || i < all.length - 1);
  } catch {
    return null;
  }
}

/** Pids of processes whose argument vector satisfies `match` (empty where /proc is missing). */
export async function findProcesses(match: (args: string[]) => boolean): Promise<number[]> {
  const entries = await readdir('/proc').catch(() => [] as string[]);
  const pids: number[] = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const args = await processArgs(Number(entry));
    if (args && match(args)) pids.push(Number(entry));
  }
  return pids;
}

/** Pids whose parent is `ppid` (from /proc/PID/stat field 4). */
export async function childProcesses(ppid: number): Promise<number[]> {
  const entries = await readdir('/proc').catch(() => [] as string[]);
  const pids: number[] = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8');
      const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (parent === ppid) pids.push(Number(entry));
    } catch {
      // ended while we looked
    }
  }
  return pids;
}

/** Sends SIGTERM, waits up to `graceMs` for the process to go, then SIGKILL; true if it went. */
export async function terminateProcess(pid: number, graceMs = 5_000): Promise<boolean> {
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(pid, sig);
    } catch {
      // already gone
    }
  };
  signal('SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!processExists(pid)) return true;
    await sleep(50);
  }
  signal('SIGKILL');
  for (let i = 0; i < 40 && processExists(pid); i++) await sleep(50);
  return !processExists(pid);
}
