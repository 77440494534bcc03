import { readdir, readFile } from 'node:fs/promises';

/**
 * Pids of running processes whose command line contains `text` (Linux /proc), for tests that
 * prove a child was really killed. Zombies and processes that vanish mid-scan are skipped.
 */
export async function processesMentioning(text: string): Promise<number[]> {
  const found: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const [cmdline, stat] = await Promise.all([
      readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => ''),
      readFile(`/proc/${entry}/stat`, 'utf8').catch(() => ''),
    ]);
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    if (state === 'Z' || !cmdline) continue;
    if (cmdline.split('\0').join(' ').includes(text)) found.push(Number(entry));
  }
  return found;
}

/**
 * The nice value of each thread of process `pid` (`self` for this one), by thread id: field 19
 * of /proc/PID/task/TID/stat (Linux keeps nice values per thread). Threads that end mid-read are
 * left out.
 */
export async function threadNiceness(pid: number | 'self'): Promise<Map<number, number>> {
  return threadStatField(pid, 19);
}

/** Linux's normal scheduling policy, SCHED_OTHER, as /proc/PID/stat's `policy` field gives it (sched.h). */
export const SCHED_OTHER = 0;

/** Linux's SCHED_IDLE, as /proc/PID/stat's `policy` field gives it (sched.h). */
export const SCHED_IDLE = 5;

/** The scheduling policy of each thread of `pid` (field 41 of its stat: 0 normal, 5 idle). */
export async function threadPolicy(pid: number | 'self'): Promise<Map<number, number>> {
  return threadStatField(pid, 41);
}

/** Field `field` (numbered as in proc(5)) of each thread's stat, by thread id. */
async function threadStatField(pid: number | 'self', field: number): Promise<Map<number, number>> {
  const found = new Map<number, number>();
  for (const tid of await readdir(`/proc/${pid}/task`)) {
    const stat = await readFile(`/proc/${pid}/task/${tid}/stat`, 'utf8').catch(() => null);
    // Fields 1 and 2 (pid, command name) end at the last ')'; field 3 is the first after it.
    if (stat)
      found.set(Number(tid), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[field - 3]));
  }
  return found;
}
