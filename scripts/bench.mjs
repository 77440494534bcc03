#!/usr/bin/env node
// Runs every benchmark one after the other and writes docs/benchmarks/README.md from what they
// printed. Each benchmark prints, for every figure it measures, one line
//   BENCH_RESULT {"id":…,"figure":…,"goal":…,"measured":…,"unit":…,"ok":true|false|null}
// and this script only collects those lines: it measures nothing itself, so a figure in the table
// is exactly what the benchmark's own documented command prints.
// Usage: node scripts/bench.mjs [--only NAME,NAME] [--quick] [--no-write]
//   --only     run these benchmarks; the others keep their last figures (docs/benchmarks/results.json)
//   --quick    small sizes, to check the benchmarks run; never written to the docs
//   --no-write print the table, write nothing
// Needs the build (npx turbo run build). Run it on a quiet machine: the table records the load
// average before and after each benchmark so a figure taken on a busy machine is visible as such.
import { spawn, execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { cpus, loadavg, totalmem, release } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { BENCHMARKS, waitForQuiet } from './benchmarks.mjs';

const repo = resolve(import.meta.dirname, '..');
const resultsPath = join(repo, 'docs/benchmarks/results.json');
const readmePath = join(repo, 'docs/benchmarks/README.md');

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const write = !quick && !args.includes('--no-write');
const onlyAt = args.indexOf('--only');
const only = onlyAt >= 0 ? new Set(args[onlyAt + 1]?.split(',') ?? []) : null;
if (only) {
  const unknown = [...only].filter((n) => !BENCHMARKS.some((b) => b.name === n));
  if (unknown.length > 0) {
    console.error(
      `bench: unknown benchmark ${unknown.join(', ')}; known: ${BENCHMARKS.map((b) => b.name).join(', ')}`,
    );
    process.exit(2);
  }
}

function firstLine(cmd, cmdArgs) {
  try {
    return execFileSync(cmd, cmdArgs, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
      .split('\n')[0]
      .trim();
  } catch {
    return `${cmd}: not found`;
  }
}

const machine = {
  cpu: cpus()[0]?.model.replace(/\s+/g, ' ').trim() ?? 'unknown',
  cores: cpus().length,
  memGiB: Math.round(totalmem() / 2 ** 30),
  kernel: release(),
  node: process.version,
  natsServer: firstLine('nats-server', ['--version']),
  ffmpeg: firstLine('ffmpeg', ['-version']).replace(/ Copyright.*/, ''),
};
const machineShort = `${machine.cores} cores, ${machine.memGiB} GiB, Node ${machine.node}`;
const load1 = () => Number(loadavg()[0].toFixed(2));

async function run(bench) {
  const argv = quick ? bench.quick : bench.argv;
  const command = `node ${argv.join(' ')}`;
  console.log(`\n=== ${bench.name}: ${command}`);
  if (!quick) {
    const quiet = await waitForQuiet({ load: load1 });
    if (quiet.waitedMs > 0) {
      console.log(`  waited ${quiet.waitedMs / 1000} s for a quiet machine (load ${quiet.load})`);
    }
  }
  const loadBefore = load1();
  const started = Date.now();
  const results = [];
  const child = spawn(process.execPath, argv, { cwd: repo, stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout });
  lines.on('line', (line) => {
    console.log(`  ${line}`);
    if (!line.startsWith('BENCH_RESULT ')) return;
    try {
      results.push(JSON.parse(line.slice('BENCH_RESULT '.length)));
    } catch (error) {
      console.error(`bench: ${bench.name} printed a malformed BENCH_RESULT line: ${error.message}`);
    }
  });
  const code = await new Promise((done) => child.on('close', (c, signal) => done(c ?? signal)));
  const seconds = Math.round((Date.now() - started) / 1000);
  const loadAfter = load1();
  const date = new Date().toISOString().slice(0, 10);
  const problem =
    code !== 0
      ? `exited with ${code}`
      : results.length === 0
        ? 'printed no BENCH_RESULT line'
        : null;
  if (problem) console.error(`bench: ${bench.name} ${problem}`);
  return {
    name: bench.name,
    doc: bench.doc,
    command,
    date,
    seconds,
    load: [loadBefore, loadAfter],
    machine: machineShort,
    problem,
    results,
  };
}

const previous = existsSync(resultsPath)
  ? JSON.parse(readFileSync(resultsPath, 'utf8'))
  : { runs: [] };
const runs = [];
for (const bench of BENCHMARKS) {
  if (only && !only.has(bench.name)) {
    const kept = previous.runs.find((r) => r.name === bench.name);
    if (kept) runs.push(kept);
    continue;
  }
  runs.push(await run(bench));
}

const fmt = (n) =>
  typeof n === 'number' ? n.toLocaleString('en-US', { maximumFractionDigits: 3 }) : String(n);
const verdict = (ok) => (ok === true ? 'yes' : ok === false ? '**no**' : '-');
const rows = [];
for (const r of runs) {
  if (r.problem) {
    rows.push(
      `| ${r.name}: not measured (${r.problem}) | - | - | **no** | ${r.date} | ${r.load.join(' → ')} | [${r.doc}](${r.doc}) |`,
    );
    continue;
  }
  for (const x of r.results) {
    const measured = `${fmt(x.measured)}${x.unit ? ` ${x.unit}` : ''}`;
    rows.push(
      `| ${x.figure} | ${x.goal} | ${measured} | ${verdict(x.ok)} | ${r.date} | ${r.load.join(' → ')} | [${r.doc}](${r.doc}) |`,
    );
  }
}
const table = [
  '| figure | goal | measured | met | date | load average (before → after) | details |',
  '| ------ | ---- | -------- | --- | ---- | ----------------------------- | ------- |',
  ...rows,
].join('\n');
console.log(`\n${table}\n`);

if (write) {
  const commands = runs.map((r) => `node ${r.command.replace(/^node /, '')}`).join('\n');
  // Formatted as the repository formats Markdown, so `prettier --check .` (CI) holds for it.
  const prettier = await import('prettier');
  const format = async (text) =>
    prettier.format(text, {
      ...((await prettier.resolveConfig(readmePath)) ?? {}),
      parser: 'markdown',
    });
  writeFileSync(
    resultsPath,
    await prettier.format(JSON.stringify({ machine, runs }), {
      ...((await prettier.resolveConfig(resultsPath)) ?? {}),
      parser: 'json',
    }),
  );
  writeFileSync(
    readmePath,
    await format(`# Benchmarks

Every figure below was printed by a benchmark script on the path a user gets by default
(\`conform up\` / \`conform replay\` with no tuning flags) unless its line names a component. The
table is written by \`node scripts/bench.mjs\` (build first: \`npx turbo run build\`), which runs
each benchmark below one after the other and copies the \`BENCH_RESULT\` lines they print; do not
edit it by hand. One benchmark again: \`node scripts/bench.mjs --only NAME\` (names: ${BENCHMARKS.map((b) => `\`${b.name}\``).join(', ')}),
or its own command from the list at the end. The load average is the machine's 1-minute load
before and after that benchmark; figures are only comparable on a quiet machine (load below
about 1 before the run: before each benchmark the script waits up to 3 minutes for that, since
the previous one's own load takes a minute or two to decay). The benchmarks start \`conform\` as
a shell does, running the program itself, so its \`#!\` line's Node flags apply.

Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memGiB} GiB, Linux ${machine.kernel},
Node ${machine.node}, ${machine.natsServer}, ${machine.ffmpeg}.

${table}

Commands (each reproduces its rows; what each measures is in its document):

\`\`\`sh
${commands}
\`\`\`
`),
  );
  console.log(`wrote ${readmePath} and ${resultsPath}`);
}
const failed = runs.filter((r) => r.problem);
process.exit(failed.length > 0 ? 1 : 0);
