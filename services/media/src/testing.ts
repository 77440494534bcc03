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
