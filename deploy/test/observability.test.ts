import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, readdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { parse } from 'yaml';

// The alert rules and the dashboard are files; these tests keep them honest: promtool checks
// and unit-tests the rules, and every conform metric they name must be one the code exports.

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '../../..');
const prometheusDir = resolve(root, 'deploy/prometheus');
const grafanaDir = resolve(root, 'deploy/grafana');

/** Metric names the code registers (`name: 'conform_...'` in the metrics modules). */
async function exportedMetrics(): Promise<Set<string>> {
  const names = new Set<string>();
  for (const file of ['services/bus/src/metrics.ts', 'services/status/src/metrics.ts']) {
    const source = await readFile(resolve(root, file), 'utf8');
    for (const m of source.matchAll(/name: '(conform_[a-z_]+)'/g)) names.add(m[1]!);
  }
  return names;
}

/** conform_* names an expression uses; histogram series map back to their metric. */
function metricsIn(expr: string): string[] {
  return [...expr.matchAll(/\b(conform_[a-z_]+)/g)].map((m) =>
    m[1]!.replace(/_(bucket|sum|count)$/, ''),
  );
}

describe('Prometheus rules', () => {
  it('pass promtool check rules', async () => {
    const { stdout } = await run('promtool', ['check', 'rules', 'alerts.yml'], {
      cwd: prometheusDir,
    });
    assert.match(stdout, /SUCCESS: \d+ rules found/);
  });

  it('pass their promtool unit tests (alerts.test.yml)', async () => {
    const { stdout } = await run('promtool', ['test', 'rules', 'alerts.test.yml'], {
      cwd: prometheusDir,
    });
    assert.match(stdout, /SUCCESS/);
  });

  it('prometheus.yml passes promtool check config and loads the rules', async () => {
    const { stdout } = await run('promtool', ['check', 'config', 'prometheus.yml'], {
      cwd: prometheusDir,
    });
    assert.match(stdout, /SUCCESS: 1 rule files found/);
  });

  it('have the alerts the deployment promises, each with a unit test', async () => {
    const rules = parse(await readFile(resolve(prometheusDir, 'alerts.yml'), 'utf8')) as {
      groups: { rules: { alert: string; expr: string }[] }[];
    };
    const tests = await readFile(resolve(prometheusDir, 'alerts.test.yml'), 'utf8');
    const alerts = rules.groups.flatMap((g) => g.rules.map((r) => r.alert));
    for (const alert of [
      'ConformServiceDown',
      'ConformDeadLettersIncreasing',
      'ConformEncodeStalled',
      'ConformProjectionLag',
      'ConformEncodeFailureRatio',
      'ConformDiskLow',
      'ConformEventLogNearCeiling',
    ]) {
      assert.ok(alerts.includes(alert), `${alert} is defined`);
    }
    for (const alert of alerts) {
      assert.match(tests, new RegExp(`alertname: ${alert}\\n`), `${alert} has a unit test`);
    }
  });

  it('name only metrics conform exports', async () => {
    const exported = await exportedMetrics();
    const rules = await readFile(resolve(prometheusDir, 'alerts.yml'), 'utf8');
    const unknown = metricsIn(rules).filter((m) => !exported.has(m));
    assert.deepEqual(unknown, [], `not exported by conform: ${unknown.join(', ')}`);
  });
});

describe('Grafana', () => {
  it('provisions Prometheus as a data source and the dashboards folder', async () => {
    const sources = parse(
      await readFile(resolve(grafanaDir, 'provisioning/datasources/prometheus.yml'), 'utf8'),
    ) as { datasources: { type: string; url: string; uid: string }[] };
    assert.equal(sources.datasources[0]?.type, 'prometheus');
    assert.equal(sources.datasources[0]?.url, 'http://prometheus:9090');
    const providers = parse(
      await readFile(resolve(grafanaDir, 'provisioning/dashboards/conform.yml'), 'utf8'),
    ) as { providers: { options: { path: string } }[] };
    assert.equal(providers.providers[0]?.options.path, '/var/lib/grafana/dashboards');
  });

  it('dashboards are valid JSON whose panels query metrics conform exports', async () => {
    const exported = await exportedMetrics();
    const files = (await readdir(resolve(grafanaDir, 'dashboards'))).filter((f) =>
      f.endsWith('.json'),
    );
    assert.ok(files.length > 0);
    for (const file of files) {
      const dashboard = JSON.parse(
        await readFile(resolve(grafanaDir, 'dashboards', file), 'utf8'),
      ) as { uid: string; panels: { title: string; targets?: { expr: string }[] }[] };
      assert.ok(dashboard.uid, `${file} has a uid`);
      assert.ok(dashboard.panels.length >= 6, `${file} has panels`);
      for (const panel of dashboard.panels) {
        for (const target of panel.targets ?? []) {
          const unknown = metricsIn(target.expr).filter((m) => !exported.has(m));
          assert.deepEqual(unknown, [], `${file} panel "${panel.title}": ${unknown.join(', ')}`);
        }
      }
    }
  });
});
