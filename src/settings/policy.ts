import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import type { LeftOutReason, RecordingCandidate, RecordingDecider } from '../audit/model.js';
import { queryRows, type Database } from '../db/client.js';
import type { Logger } from '../logger.js';
import { listLoggerSettings } from './logger-settings.js';
import { SETTINGS_CHANNEL, type TypeDecision } from './model.js';
import { candidatesFor, decideType, emptySnapshot, type Candidates, type SettingsSnapshot, type TypeInfo } from './resolution.js';

/** Memo and throttle maps are bounded: past this many entries they start again empty. */
const CACHE_LIMIT = 100_000;

interface UserEffective {
  candidates: Candidates;
  byType: Map<string, TypeDecision>;
}

/**
 * Applies logger settings on the write path from memory. The whole settings picture (settings,
 * group tree, users' personal groups) is loaded at start and again whenever any instance
 * NOTIFYs a change; per user and type the decision is memoised, so an event costs two map lookups.
 *
 * Throttling is per instance: each instance remembers when it last recorded a type in a session.
 * Behind a load balancer that spreads one session over several instances, each may record it once
 * per interval.
 */
export class RecordingPolicy implements RecordingDecider {
  private snapshot: SettingsSnapshot = emptySnapshot();
  private readonly effective = new Map<string, UserEffective>();
  /** `${sessionId}\0${type}` → occurredAt (ms) of the last recorded event. */
  private readonly lastRecorded = new Map<string, number>();
  private loading: Promise<void> | null = null;
  private again = false;
  private unlisten: (() => Promise<void>) | null = null;
  /** Sent with this instance's NOTIFYs: it reloads before answering, so it skips its own. */
  readonly instanceId = randomUUID();

  constructor(
    private readonly database: Database,
    private readonly logger: Logger,
  ) {}

  /** Loads the settings and follows changes made by any instance. */
  async start(): Promise<void> {
    this.unlisten = await this.database.listen(SETTINGS_CHANNEL, (payload) => {
      if (payload === this.instanceId) return;
      this.reload().catch((err: unknown) => this.logger.error({ err }, 'reloading logger settings failed'));
    });
    await this.reload();
  }

  async stop(): Promise<void> {
    await this.unlisten?.().catch(() => undefined);
    this.unlisten = null;
  }

  /**
   * Reloads the snapshot. A change announced while a load runs may not be in it, so the load
   * runs once more; callers wait for the load that started after their change.
   */
  reload(): Promise<void> {
    if (this.loading) {
      this.again = true;
      return this.loading;
    }
    this.loading = (async () => {
      try {
        do {
          this.again = false;
          const snapshot = await this.load();
          this.snapshot = snapshot;
          this.effective.clear();
        } while (this.again);
      } finally {
        this.loading = null;
      }
    })();
    return this.loading;
  }

  private async load(): Promise<SettingsSnapshot> {
    const db = this.database.db;
    const [settings, relations, personal] = await Promise.all([
      listLoggerSettings(db),
      queryRows<{ parent_id: string; child_id: string }>(db, sql`select parent_id, child_id from groups_relations`),
      queryRows<{ login: string; group_id: string }>(db, sql`select login, group_id from users where group_id is not null`),
    ]);
    const groupIds = await queryRows<{ id: string; name: string }>(db, sql`select id, name from groups where not personal`);
    const idOfGroup = new Map(groupIds.map((g) => [g.name, g.id]));
    const snapshot = emptySnapshot();
    for (const setting of settings) {
      if (setting.target.kind === 'GLOBAL') snapshot.global = setting;
      else if (setting.target.kind === 'USER') snapshot.byLogin.set(setting.target.login, setting);
      else {
        const id = idOfGroup.get(setting.target.name);
        if (id) snapshot.byGroupId.set(id, setting);
      }
    }
    for (const { parent_id, child_id } of relations) {
      const list = snapshot.parentsOf.get(child_id) ?? [];
      list.push(parent_id);
      snapshot.parentsOf.set(child_id, list);
    }
    for (const { login, group_id } of personal) snapshot.personalGroupOf.set(login, group_id);
    return snapshot;
  }

  /** The decision for one user and type, memoised until the next reload. */
  decision(login: string | null, type: TypeInfo, isError = false): TypeDecision {
    if (isError) return decideType({ source: 'BUILT_IN_DEFAULT', settings: [], distance: null }, type, true);
    const key = login ?? '\u0000anonymous';
    let user = this.effective.get(key);
    if (!user) {
      if (this.effective.size >= CACHE_LIMIT) this.effective.clear();
      user = { candidates: candidatesFor(this.snapshot, login), byType: new Map() };
      this.effective.set(key, user);
    }
    let decided = user.byType.get(type.name);
    if (!decided) {
      decided = decideType(user.candidates, type);
      user.byType.set(type.name, decided);
    }
    return decided;
  }

  decide(events: RecordingCandidate[]): { leftOut: Array<LeftOutReason | null>; commit(): void } {
    const marks = new Map<string, number>();
    const leftOut = events.map((event): LeftOutReason | null => {
      const decided = this.decision(event.userLogin, event.type, event.isError);
      if (!decided.recorded) return 'DISABLED_BY_SETTINGS';
      if (decided.throttleSeconds === 0 || event.sessionId === null) return null;
      const key = `${event.sessionId}\u0000${event.type.name}`;
      const at = event.occurredAt.getTime();
      const last = marks.get(key) ?? this.lastRecorded.get(key);
      if (last !== undefined && Math.abs(at - last) < decided.throttleSeconds * 1000) return 'THROTTLED';
      marks.set(key, at);
      return null;
    });
    return {
      leftOut,
      commit: () => {
        for (const [key, at] of marks) {
          if (this.lastRecorded.size >= CACHE_LIMIT) this.lastRecorded.clear();
          this.lastRecorded.set(key, at);
        }
      },
    };
  }
}
