import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, readlink, rename } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { eventually } from '@conform/bus';
import { WORK_DIR_NAME } from '@conform/contracts';
import { generateClip, type ClipOptions } from '@conform/media';

/** The compiled `conform` entry point. */
export const conformBin = resolve(import.meta.dirname, '../src/bin.js');

/** A `conform` child process with its JSON log lines collected. */
export interface ConformProcess {
  child: ChildProcess;
  logs: Record<string, unknown>[];
  stderr: () => string;
  exited: Promise<number | null>;
  /** Waits for a log line with this message and returns it. */
  waitForLog(msg: string, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** For `finally`: kills conform and its embedded nats-server if a failed test left them. */
  kill(): void;
}

export function runConform(args: string[], env: NodeJS.ProcessEnv = {}): ConformProcess {
  const child = spawn(process.execPath, [conformBin, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NATS_URL: '', LOG_LEVEL: 'info', ...env },
  });
  const logs: Record<string, unknown>[] = [];
  let err = '';
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  createInterface({ input: child.stdout! }).on('line', (line) => {
    try {
      logs.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      logs.push({ msg: line });
    }
  });
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  return {
    child,
    logs,
    stderr: () => err,
    exited,
    kill: () => {
      const nats = logs.find((l) => l.msg === 'embedded nats-server started');
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      if (nats && processAlive(Number(nats.pid))) process.kill(Number(nats.pid), 'SIGKILL');
    },
    waitForLog: (msg, timeoutMs = 30_000) =>
      eventually(() => logs.find((l) => l.msg === msg), {
        timeoutMs,
        what: `log "${msg}" (stderr: ${err.slice(-500)})`,
      }),
  };
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Pids of running processes named `name` whose command line mentions `needle`. */
export async function findProcesses(name: string, needle: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const exe = await readlink(`/proc/${entry}/exe`).catch(() => '');
      const cmdline = (await readFile(`/proc/${entry}/cmdline`, 'utf8')).split('\0');
      const isNamed = exe.endsWith(`/${name}`) || (cmdline[0] ?? '').endsWith(name);
      if (isNamed && cmdline.some((a) => a.includes(needle))) pids.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return pids;
}

/** `conform up` on `<root>/library` with the settings every end-to-end test uses. */
export function upArgs(root: string): string[] {
  return [
    'up',
    '--library',
    join(root, 'library'),
    '--archive',
    join(root, 'archive'),
    '--state-dir',
    join(root, 'state'),
    '--port',
    '0',
    '--stability-window',
    '1000',
    '--encoder',
    'libx265',
  ];
}

/** sha256 of a file's bytes, to prove an original is byte-identical. */
export async function sha256(path: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(path))
    .digest('hex');
}

/**
 * A 60 s 720p clip in `<root>/library/Long.mkv` and `conform up` on it, returned once the
 * encode's ffmpeg runs: the one writing into the work folder (the planner's health check runs
 * ffmpeg on the source too, and that is not the encode). The caller stops `conform`.
 */
export async function upMidEncode(
  root: string,
  opts: { clip?: Partial<ClipOptions>; timeoutMs: number },
) {
  await mkdir(join(root, 'library'), { recursive: true });
  const source = join(root, 'library', 'Long.mkv');
  const staging = join(root, 'long.mkv');
  await generateClip({ ...opts.clip, path: staging, durationSec: 60, width: 1280, height: 720 });
  await rename(staging, source);
  const originalHash = await sha256(source);
  const conform = runConform(upArgs(root));
  try {
    const nats = await conform.waitForLog('embedded nats-server started');
    const workDir = join(root, 'library', WORK_DIR_NAME);
    const ffmpeg = await eventually(async () => (await findProcesses('ffmpeg', workDir)).at(0), {
      timeoutMs: opts.timeoutMs,
      what: 'ffmpeg encoding the clip',
    });
    return { conform, nats, ffmpeg, source, originalHash };
  } catch (err) {
    conform.kill();
    throw err;
  }
}
