import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';

// The layering of docs/architecture.md, checked on every workspace: what each may import.
// Services talk to each other only through events, so no pipeline service imports another.
const root = resolve(import.meta.dirname, '../../../..');
const GROUND = ['@conform/contracts', '@conform/config', '@conform/bus', '@conform/media'];
const PIPELINE = [
  '@conform/watcher',
  '@conform/planner',
  '@conform/encoder',
  '@conform/verifier',
  '@conform/archiver',
  '@conform/notify',
];
const allowed: Record<string, (dep: string) => boolean> = {
  '@conform/contracts': () => false,
  '@conform/config': (d) => d === '@conform/contracts',
  '@conform/bus': (d) => d === '@conform/contracts',
  '@conform/media': (d) => d === '@conform/contracts',
  '@conform/projections': (d) => ['@conform/contracts', '@conform/bus'].includes(d),
  '@conform/status': (d) => [...GROUND, '@conform/projections'].includes(d),
  '@conform/cli': () => true,
};
const rule = (name: string) =>
  allowed[name] ?? (PIPELINE.includes(name) ? (d: string) => GROUND.includes(d) : () => false);

interface Workspace {
  name: string;
  dir: string;
  deps: string[];
}
const workspaces: Workspace[] = (
  JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { workspaces: string[] }
).workspaces.map((w) => {
  const pkg = JSON.parse(readFileSync(join(root, w, 'package.json'), 'utf8')) as {
    name: string;
    dependencies?: Record<string, string>;
  };
  return { name: pkg.name, dir: join(root, w), deps: Object.keys(pkg.dependencies ?? {}) };
});

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) return sources(p);
    return /\.(ts|mts|js|mjs)$/.test(f) ? [p] : [];
  });
}

describe('workspace layering', () => {
  it('knows every workspace', () => assert.ok(workspaces.length >= 12));
  for (const ws of workspaces) {
    it(`${ws.name} depends only on what its layer allows`, () => {
      const wrong = ws.deps.filter((d) => d.startsWith('@conform/') && !rule(ws.name)(d));
      assert.deepEqual(wrong, [], `${ws.name} must not depend on ${wrong.join(', ')}`);
    });
    it(`${ws.name} imports no @conform package it does not declare`, () => {
      const src = join(ws.dir, 'src');
      const used = new Set<string>();
      for (const file of statSync(src, { throwIfNoEntry: false }) ? sources(src) : []) {
        for (const m of readFileSync(file, 'utf8').matchAll(/from '(@conform\/[a-z-]+)/g)) {
          used.add(m[1]!);
        }
      }
      used.delete(ws.name);
      const undeclared = [...used].filter((d) => !ws.deps.includes(d));
      assert.deepEqual(undeclared, [], `${ws.name} imports ${undeclared.join(', ')} undeclared`);
    });
  }
});

// docs/architecture.md: inside a pipeline service the same kinds of file sit in the same places,
// and a source file past about 250 lines says in its header why it is one job.
describe('service shape', () => {
  for (const ws of workspaces.filter((w) => PIPELINE.includes(w.name))) {
    it(`${ws.name} has decide.ts and service.ts`, () => {
      for (const f of ['decide.ts', 'service.ts']) {
        assert.ok(
          statSync(join(ws.dir, 'src', f), { throwIfNoEntry: false }),
          `${ws.name}: src/${f}`,
        );
      }
    });
  }
  it('every service source file over 250 lines opens with a header comment', () => {
    const long = workspaces
      .filter((w) => w.dir.includes('/services/'))
      .flatMap((w) =>
        statSync(join(w.dir, 'src'), { throwIfNoEntry: false }) ? sources(join(w.dir, 'src')) : [],
      )
      .filter((f) => f.endsWith('.ts'))
      .filter((f) => {
        const text = readFileSync(f, 'utf8');
        return text.split('\n').length > 250 && !/^(#![^\n]*\n)?\/\//.test(text);
      })
      .map((f) => f.slice(root.length + 1));
    assert.deepEqual(long, [], 'say the one job and why it stays whole in a header comment');
  });
});
