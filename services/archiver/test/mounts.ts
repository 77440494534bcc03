import { execFileSync } from 'node:child_process';
import { mkdir } from 'node:fs/promises';

function mountOrFail(args: string[], what: string): void {
  try {
    execFileSync('mount', args, { stdio: 'pipe' });
  } catch (err) {
    throw new Error(
      `this test needs ${what} (run the tests as root, or in a container with CAP_SYS_ADMIN): ` +
        (err as Error).message,
    );
  }
}

/** Mounts a tmpfs of `size` at `dir`: a real second filesystem, or a real small one. Fails loudly. */
export async function mountTmpfs(dir: string, size: string): Promise<() => void> {
  await mkdir(dir, { recursive: true });
  mountOrFail(['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], `a ${size} tmpfs at ${dir}`);
  return () => execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
}

/**
 * Makes `dir` read-only. Root ignores permission bits, so as root this is a read-only bind
 * mount of the folder onto itself (the kernel refuses writes with EROFS); otherwise chmod 555.
 */
export async function makeReadOnly(dir: string): Promise<() => void> {
  if (process.getuid?.() !== 0) {
    execFileSync('chmod', ['555', dir]);
    return () => execFileSync('chmod', ['755', dir]);
  }
  mountOrFail(['--bind', dir, dir], `a bind mount of ${dir}`);
  try {
    mountOrFail(['-o', 'remount,ro,bind', dir], `a read-only remount of ${dir}`);
  } catch (err) {
    execFileSync('umount', ['-l', dir]);
    throw err;
  }
  return () => execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
}
