import type { MediaServerConfig } from '@conform/config';
import type { PathChange } from '../decide.js';
import { IntegrationError } from '../errors.js';
import { call } from '../http.js';
import { isUnder, mapPath, parentOf } from '../paths.js';
import type { Delivery, MediaServerAdapter } from './types.js';

/** How long the list of library sections is trusted before it is fetched again. */
const SECTIONS_TTL_MS = 10 * 60_000;

interface Section {
  key: string;
  title: string;
  locations: string[];
}

/**
 * Plex Media Server: the section whose Location holds a folder is found from
 * `GET /library/sections` (cached; fetched again when a folder matches none, e.g. a new
 * library), then `GET /library/sections/{key}/refresh?path=<folder>` scans just that folder.
 * The token travels in the `X-Plex-Token` header, never in the URL.
 */
export class PlexServer implements MediaServerAdapter {
  readonly name: string;
  readonly kind = 'plex' as const;
  private sections: { at: number; list: Section[] } | null = null;

  constructor(
    private readonly config: MediaServerConfig,
    private readonly token: string,
    private readonly timeoutMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.name = config.name;
  }

  async refresh(files: PathChange[][], signal?: AbortSignal): Promise<Delivery[]> {
    // One scan per folder however many files of it changed (a rename stays in its folder).
    const folderOf = files.map((changes) => [
      ...new Set(changes.map((c) => parentOf(mapPath(c.path, this.config.pathMap)))),
    ]);
    const done = new Map<string, Delivery>();
    for (const folder of new Set(folderOf.flat())) {
      const section = await this.sectionHolding(folder, signal);
      const request = `GET /library/sections/${section.key}/refresh?path=${folder}`;
      const answer = await call(
        {
          method: 'GET',
          url: `${this.config.url}/library/sections/${encodeURIComponent(section.key)}/refresh?path=${encodeURIComponent(folder)}`,
          headers: { 'X-Plex-Token': this.token },
          timeoutMs: this.timeoutMs,
          what: `Plex ${this.name}: GET /library/sections/${section.key}/refresh`,
        },
        signal,
      );
      done.set(folder, { request, status: answer.status, paths: [folder] });
    }
    return folderOf.map((folders) => {
      const parts = folders.map((f) => done.get(f)!);
      return {
        request: parts.map((p) => p.request).join('; '),
        status: parts[0]?.status ?? 200,
        paths: folders,
      };
    });
  }

  async activeSessions(signal?: AbortSignal): Promise<number> {
    const answer = await call(
      {
        method: 'GET',
        url: `${this.config.url}/status/sessions`,
        headers: { 'X-Plex-Token': this.token },
        timeoutMs: this.timeoutMs,
        what: `Plex ${this.name}: GET /status/sessions`,
      },
      signal,
    );
    const mc = (answer.json as { MediaContainer?: { size?: number; Metadata?: unknown[] } })
      ?.MediaContainer;
    return mc?.Metadata?.length ?? mc?.size ?? 0;
  }

  private async sectionHolding(folder: string, signal?: AbortSignal): Promise<Section> {
    const fresh = this.sections && this.now() - this.sections.at < SECTIONS_TTL_MS;
    let found = fresh ? match(this.sections!.list, folder) : null;
    if (!found) {
      this.sections = { at: this.now(), list: await this.fetchSections(signal) };
      found = match(this.sections.list, folder);
    }
    if (!found) {
      const known = this.sections!.list.flatMap((s) => s.locations).join(', ') || '(none)';
      throw new IntegrationError(
        `Plex ${this.name}: no library section holds ${folder}; its sections hold ${known} (check pathMap)`,
        { status: null, permanent: true },
      );
    }
    return found;
  }

  private async fetchSections(signal?: AbortSignal): Promise<Section[]> {
    const answer = await call(
      {
        method: 'GET',
        url: `${this.config.url}/library/sections`,
        headers: { 'X-Plex-Token': this.token },
        timeoutMs: this.timeoutMs,
        what: `Plex ${this.name}: GET /library/sections`,
      },
      signal,
    );
    const dirs =
      (answer.json as { MediaContainer?: { Directory?: PlexDirectory[] } })?.MediaContainer
        ?.Directory ?? [];
    return dirs.map((d) => ({
      key: String(d.key),
      title: String(d.title ?? d.key),
      locations: (d.Location ?? []).map((l) => String(l.path)),
    }));
  }
}

interface PlexDirectory {
  key: string | number;
  title?: string;
  Location?: { id?: number; path: string }[];
}

/** The section with the longest location holding `folder`. */
function match(sections: Section[], folder: string): Section | null {
  let best: { s: Section; len: number } | null = null;
  for (const s of sections) {
    for (const loc of s.locations) {
      if (isUnder(folder, loc) && (!best || loc.length > best.len)) best = { s, len: loc.length };
    }
  }
  return best?.s ?? null;
}
