import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  ConfigError,
  loadQualityConfig,
  parseQualityConfig,
  policyVersion,
  QUALITY_EXAMPLES_DIR,
} from '../src/index.js';

const base = `version: 1
libraries:
  - root: /media/movies
    archive: /archive
`;

function problem(text: string): ConfigError {
  try {
    parseQualityConfig(text, 'quality.yaml');
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err;
  }
  assert.fail('expected the config to be rejected');
}

describe('integrations configuration', () => {
  it('is empty when absent, and the policy version does not change because of it', () => {
    const config = parseQualityConfig(base, 'quality.yaml');
    assert.deepEqual(config.integrations.mediaServers, []);
    assert.equal(config.integrations.pauseWhilePlaying, null);
    assert.equal(config.libraries[0]!.policy.holdNewFilesMinutes, undefined);
    const held = parseQualityConfig(
      `${base}    policy: { holdNewFilesMinutes: 30 }\n`,
      'quality.yaml',
    );
    assert.equal(held.libraries[0]!.policy.holdNewFilesMinutes, 30);
    assert.notEqual(held.libraries[0]!.policyVersion, config.libraries[0]!.policyVersion);
    assert.equal(policyVersion(config.defaults), config.libraries[0]!.policyVersion);
  });

  it('config/examples/integrations.yaml configures every product', async () => {
    const config = await loadQualityConfig(join(QUALITY_EXAMPLES_DIR, 'integrations.yaml'));
    const i = config.integrations;
    assert.deepEqual(
      [...i.mediaServers, ...i.arr, ...i.notifications].map((t) => t.kind),
      ['jellyfin', 'emby', 'plex', 'sonarr', 'radarr', 'apprise', 'webhook'],
    );
    assert.deepEqual(i.mediaServers[0]!.pathMap, [{ from: '/media', to: '/data' }]);
    assert.equal(i.timeoutMs, 10_000);
    assert.equal(i.summaryAt, '08:00');
    assert.deepEqual(i.pauseWhilePlaying, {
      servers: ['jellyfin', 'plex'],
      graceMinutes: 5,
      pollMs: 30_000,
    });
  });

  it('a secret written in place of an environment variable name is refused, naming the line', () => {
    const err = problem(`${base}integrations:
  mediaServers:
    - name: jf
      kind: jellyfin
      url: http://jellyfin:8096
      apiKeyEnv: 4f9c2a-not-a-name
`);
    assert.equal(err.line, 10);
    assert.match(err.message, /^quality\.yaml:10: integrations\.mediaServers\[0\]\.apiKeyEnv: /);
  });

  it('an unknown kind lists the kinds', () => {
    const err = problem(`${base}integrations:
  arr:
    - { name: lidarr, kind: lidarr, url: 'http://l:8686', apiKeyEnv: K }
`);
    assert.equal(err.line, 7);
    assert.match(err.message, /integrations\.arr\[0\]\.kind: expected one of "sonarr", "radarr"/);
  });

  it('two targets with one name are refused at the second', () => {
    const err = problem(`${base}integrations:
  mediaServers:
    - { name: media, kind: plex, url: 'http://p:32400', apiKeyEnv: PLEX_TOKEN }
  arr:
    - { name: media, kind: sonarr, url: 'http://s:8989', apiKeyEnv: SONARR_KEY }
`);
    assert.equal(err.line, 9);
    assert.match(err.message, /integrations\.arr\[0\]\.name: name "media" is already used/);
  });

  it('pauseWhilePlaying names a server that is not configured', () => {
    const err = problem(`${base}integrations:
  mediaServers:
    - { name: plex, kind: plex, url: 'http://p:32400', apiKeyEnv: PLEX_TOKEN }
  pauseWhilePlaying:
    servers: [plex, jellyfin]
`);
    assert.equal(err.line, 9);
    assert.match(err.message, /pauseWhilePlaying\.servers\[1\]: no media server named "jellyfin"/);
  });

  it('apprise needs urlsEnv or key', () => {
    const err = problem(`${base}integrations:
  notifications:
    - name: apprise
      kind: apprise
      url: http://apprise:8000
`);
    assert.equal(err.line, 7);
    assert.match(err.message, /integrations\.notifications\[0\]/);
  });
});
