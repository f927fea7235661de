import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql, startTestServer, subscribe, untilSubscribed, type TestServer } from './helpers/server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.stop());

const LOG = `mutation($input: LogInput!) { log(input: $input) { recorded reason duplicate event { id type user } } }`;
const LOG_BATCH = `mutation($events: [LogInput!]!) { logBatch(events: $events) { recorded leftOut leftOutByReason { reason count } results { recorded reason } } }`;
const SET = `mutation($target: LoggerSettingTargetInput, $settings: LoggerSettingsInput!) {
  setLoggerSettings(target: $target, settings: $settings) { id target user group level typesOn typesOff categoriesOn categoriesOff throttleSeconds } }`;
const REMOVE = `mutation($target: LoggerSettingTargetInput) { removeLoggerSettings(target: $target) { target user group level } }`;
const EFFECTIVE = `query($user: String!) { effectiveLoggerSettings(user: $user) { type category recorded throttleSeconds source distance decidedBy { target user group level } } }`;

async function gqlOk(query: string, variables?: Record<string, unknown>) {
  const res = await server.gql(query, variables);
  expect(res.errors).toBeUndefined();
  return res.data;
}

async function storedCount(login: string, type?: string): Promise<number> {
  const [row] = await server.rows<{ n: number }>(sql`
    select count(*)::int as n from events e join users u on u.id = e.user_id join event_types t on t.id = e.event_type_id
    where u.login = ${login} ${type ? sql`and t.name = ${type}` : sql``}`);
  return row!.n;
}

async function effective(user: string, type: string) {
  const data = await gqlOk(EFFECTIVE, { user });
  return data.effectiveLoggerSettings.find((e: { type: string }) => e.type === type);
}

describe('logger settings on the write path', () => {
  beforeAll(async () => {
    // company ⊃ analysts ⊃ carol; dave belongs to no group.
    await gqlOk(`mutation { a: upsertGroup(name: "company") { name } b: upsertGroup(name: "analysts") { name } }`);
    await gqlOk(`mutation { setGroupMembers(group: "analysts", users: ["carol"]) { name } }`);
    await gqlOk(`mutation { setGroupMembers(group: "company", groups: ["analysts"]) { name } }`);
  });

  it('drops viewer-rendered for a user in a child group of a CUSTOM-minus-viewer-rendered group, not for a user outside', async () => {
    const set = await gqlOk(SET, { target: { group: 'company' }, settings: { level: 'CUSTOM', typesOff: ['viewer-rendered'] } });
    expect(set.setLoggerSettings).toMatchObject({ target: 'GROUP', group: 'company', user: null, level: 'CUSTOM', typesOff: ['viewer-rendered'], throttleSeconds: 0 });

    const carol = await gqlOk(LOG, { input: { type: 'viewer-rendered', user: 'carol' } });
    expect(carol.log).toEqual({ recorded: false, reason: 'DISABLED_BY_SETTINGS', duplicate: false, event: null });
    const dave = await gqlOk(LOG, { input: { type: 'viewer-rendered', user: 'dave' } });
    expect(dave.log).toMatchObject({ recorded: true, reason: null, event: { type: 'viewer-rendered', user: 'dave' } });
    const carolOther = await gqlOk(LOG, { input: { type: 'query-created', user: 'carol' } });
    expect(carolOther.log.recorded).toBe(true);
    expect(await storedCount('carol', 'viewer-rendered')).toBe(0);
    expect(await storedCount('dave', 'viewer-rendered')).toBe(1);

    expect(await effective('carol', 'viewer-rendered')).toEqual({
      type: 'viewer-rendered',
      category: 'ui',
      recorded: false,
      throttleSeconds: 0,
      source: 'GROUP',
      distance: 2,
      decidedBy: { target: 'GROUP', user: null, group: 'company', level: 'CUSTOM' },
    });
    expect(await effective('dave', 'viewer-rendered')).toMatchObject({ recorded: true, source: 'BUILT_IN_DEFAULT', decidedBy: null });
  });

  it("lets the user's own VERBOSE setting override the group's", async () => {
    await gqlOk(SET, { target: { user: 'carol' }, settings: { level: 'VERBOSE' } });
    const batch = await gqlOk(LOG_BATCH, { events: [{ type: 'viewer-rendered', user: 'carol' }, { type: 'dialog-ok', user: 'carol' }] });
    expect(batch.logBatch).toMatchObject({ recorded: 2, leftOut: 0 });
    expect(await storedCount('carol', 'viewer-rendered')).toBe(1);
    expect(await effective('carol', 'viewer-rendered')).toMatchObject({ recorded: true, source: 'USER', decidedBy: { target: 'USER', user: 'carol', level: 'VERBOSE' } });
    // dialog-ok is not a Standard type: the default does not record it for dave.
    expect((await gqlOk(LOG, { input: { type: 'dialog-ok', user: 'dave' } })).log.reason).toBe('DISABLED_BY_SETTINGS');
  });

  it('between groups at the same distance, the one that records the type decides', async () => {
    await gqlOk(`mutation { upsertGroup(name: "quiet") { name } }`);
    await gqlOk(`mutation { a: setGroupMembers(group: "quiet", users: ["hugo"]) { name } b: setGroupMembers(group: "analysts", users: ["carol", "hugo"]) { name } }`);
    await gqlOk(SET, { target: { group: 'quiet' }, settings: { level: 'OFF' } });
    await gqlOk(SET, { target: { group: 'analysts' }, settings: { level: 'CUSTOM', categoriesOff: ['ui'], typesOn: ['main-menu-item-click'] } });
    // hugo: analysts (distance 1) and quiet (distance 1); company (distance 2) is further.
    expect(await effective('hugo', 'query-created')).toMatchObject({ recorded: true, source: 'GROUP', distance: 1, decidedBy: { group: 'analysts' } });
    expect(await effective('hugo', 'main-menu-item-click')).toMatchObject({ recorded: true, decidedBy: { group: 'analysts' } });
    expect(await effective('hugo', 'viewer-rendered')).toMatchObject({ recorded: false, decidedBy: { group: 'analysts' } });
    const batch = await gqlOk(LOG_BATCH, {
      events: [
        { type: 'query-created', user: 'hugo' },
        { type: 'viewer-rendered', user: 'hugo' },
        { type: 'main-menu-item-click', user: 'hugo' },
      ],
    });
    expect(batch.logBatch.results.map((r: { reason: string | null }) => r.reason)).toEqual([null, 'DISABLED_BY_SETTINGS', null]);
  });

  it('OFF drops everything but errors', async () => {
    await gqlOk(SET, { target: { user: 'erin' }, settings: { level: 'OFF' } });
    const batch = await gqlOk(LOG_BATCH, {
      events: [
        { type: 'log', user: 'erin', message: 'dropped' },
        { type: 'error', user: 'erin', message: 'kept: an error type' },
        { type: 'query-created', user: 'erin', parameters: { query: { type: 'query', id: 'off-1' } } },
        { type: 'query-start', user: 'erin', errorMessage: 'kept: it failed' },
        { type: 'my-custom', user: 'erin' },
      ],
    });
    expect(batch.logBatch).toEqual({
      recorded: 2,
      leftOut: 3,
      leftOutByReason: [
        { reason: 'DISABLED_BY_SETTINGS', count: 3 },
        { reason: 'THROTTLED', count: 0 },
      ],
      results: [
        { recorded: false, reason: 'DISABLED_BY_SETTINGS' },
        { recorded: true, reason: null },
        { recorded: false, reason: 'DISABLED_BY_SETTINGS' },
        { recorded: true, reason: null },
        { recorded: false, reason: 'DISABLED_BY_SETTINGS' },
      ],
    });
    const stored = await server.rows<{ type: string }>(sql`
      select t.name as type from events e join users u on u.id = e.user_id join event_types t on t.id = e.event_type_id
      where u.login = 'erin' order by e.id`);
    expect(stored.map((r) => r.type)).toEqual(['error', 'query-start']);
    const [entity] = await server.rows<{ n: number }>(sql`select count(*)::int as n from entities where external_id = 'off-1'`);
    expect(entity!.n).toBe(0);
  });

  it('with a 60 s throttle records the first of three identical events in a session', async () => {
    await gqlOk(SET, { target: { user: 'frank' }, settings: { level: 'STANDARD', throttleSeconds: 60 } });
    const session = (await gqlOk(`mutation { startSession(input: { user: "frank" }) { id } }`)).startSession.id;
    const results = [];
    for (let i = 0; i < 3; i++) results.push((await gqlOk(LOG, { input: { type: 'query-start', sessionId: session, message: `run ${i}` } })).log);
    expect(results.map((r) => [r.recorded, r.reason])).toEqual([
      [true, null],
      [false, 'THROTTLED'],
      [false, 'THROTTLED'],
    ]);
    // Another type in the session, and the same type in another session, are recorded.
    const other = await gqlOk(LOG, { input: { type: 'query-edited', sessionId: session } });
    expect(other.log.recorded).toBe(true);
    const session2 = (await gqlOk(`mutation { startSession(input: { user: "frank" }) { id } }`)).startSession.id;
    const batch = await gqlOk(LOG_BATCH, { events: [1, 2, 3].map(() => ({ type: 'query-start', sessionId: session2 })) });
    expect(batch.logBatch).toMatchObject({ recorded: 1, leftOut: 2, leftOutByReason: [{ reason: 'DISABLED_BY_SETTINGS', count: 0 }, { reason: 'THROTTLED', count: 2 }] });
    expect(await storedCount('frank', 'query-start')).toBe(2);
    // Outside the interval (by occurredAt) the type is recorded again.
    const later = await gqlOk(LOG, { input: { type: 'query-start', sessionId: session, occurredAt: new Date(Date.now() + 61_000).toISOString() } });
    expect(later.log.recorded).toBe(true);
  });

  it('removing a setting restores the default; the global default applies to users without a setting', async () => {
    const removed = await gqlOk(REMOVE, { target: { user: 'erin' } });
    expect(removed.removeLoggerSettings).toEqual({ target: 'USER', user: 'erin', group: null, level: 'OFF' });
    expect((await gqlOk(LOG, { input: { type: 'log', user: 'erin' } })).log.recorded).toBe(true);
    expect(await effective('erin', 'log')).toMatchObject({ recorded: true, source: 'BUILT_IN_DEFAULT' });
    expect((await gqlOk(REMOVE, { target: { user: 'erin' } })).removeLoggerSettings).toBeNull();
    expect((await gqlOk(REMOVE, { target: { user: 'nobody' } })).removeLoggerSettings).toBeNull();
    expect(await server.rows(sql`select 1 from users where login = 'nobody'`)).toEqual([]);

    await gqlOk(SET, { settings: { level: 'OFF' } });
    expect((await gqlOk(LOG, { input: { type: 'log', user: 'ivan' } })).log.reason).toBe('DISABLED_BY_SETTINGS');
    expect((await gqlOk(LOG, { input: { type: 'log' } })).log.reason).toBe('DISABLED_BY_SETTINGS');
    expect(await effective('ivan', 'log')).toMatchObject({ recorded: false, source: 'GLOBAL', decidedBy: { target: 'GLOBAL' } });
    // carol has her own setting, so the global one does not touch her.
    expect((await gqlOk(LOG, { input: { type: 'log', user: 'carol' } })).log.recorded).toBe(true);
    expect((await gqlOk(REMOVE, {})).removeLoggerSettings).toMatchObject({ target: 'GLOBAL', level: 'OFF' });
    expect((await gqlOk(LOG, { input: { type: 'log', user: 'ivan' } })).log.recorded).toBe(true);
  });

  it('lists every setting: global first, then groups, then users', async () => {
    await gqlOk(SET, { settings: { level: 'VERBOSE' } });
    const data = await gqlOk(`{ loggerSettings { target user group level } }`);
    expect(data.loggerSettings).toEqual([
      { target: 'GLOBAL', user: null, group: null, level: 'VERBOSE' },
      { target: 'GROUP', user: null, group: 'analysts', level: 'CUSTOM' },
      { target: 'GROUP', user: null, group: 'company', level: 'CUSTOM' },
      { target: 'GROUP', user: null, group: 'quiet', level: 'OFF' },
      { target: 'USER', user: 'carol', group: null, level: 'VERBOSE' },
      { target: 'USER', user: 'frank', group: null, level: 'STANDARD' },
    ]);
    await gqlOk(REMOVE, {});
  });

  it('records each settings change as an audit event with before and after, whatever the settings', async () => {
    await gqlOk(SET, { settings: { level: 'OFF' } });
    await gqlOk(SET, { target: { user: 'frank' }, settings: { level: 'STANDARD', throttleSeconds: 30 } });
    await gqlOk(REMOVE, {});
    const res = await gqlOk(`{ events(filter: { types: ["logger-settings-changed"] }, first: 3) { nodes { message params } } }`);
    const [removed, changed, offGlobal] = res.events.nodes;
    expect(removed.message).toBe('Logger settings of global removed');
    expect(JSON.parse(removed.params.before)).toMatchObject({ level: 'OFF' });
    expect(removed.params.after).toBeNull();
    expect(changed.params.target).toEqual({ type: 'user', id: 'frank', name: null });
    expect(JSON.parse(changed.params.before)).toMatchObject({ level: 'STANDARD', throttleSeconds: 60 });
    expect(JSON.parse(changed.params.after)).toMatchObject({ level: 'STANDARD', throttleSeconds: 30 });
    expect(offGlobal.params.before).toBeNull();
    expect(JSON.parse(offGlobal.params.after)).toEqual({ level: 'OFF', typesOn: [], typesOff: [], categoriesOn: [], categoriesOff: [], throttleSeconds: 0 });
  });

  it('does not publish a left-out event to live subscribers', async () => {
    await gqlOk(SET, { target: { user: 'jane' }, settings: { level: 'CUSTOM', typesOff: ['log'] } });
    const feed = subscribe(server.wsClient(), `subscription { events(filter: { user: "jane" }) { type message } }`);
    await untilSubscribed(server, 1);
    await gqlOk(LOG, { input: { type: 'log', user: 'jane', message: 'left out' } });
    await gqlOk(LOG, { input: { type: 'query-created', user: 'jane', message: 'recorded' } });
    const received = await feed.waitFor(1);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(received.map((r) => r.data?.events)).toEqual([{ type: 'query-created', message: 'recorded' }]);
    feed.unsubscribe();
  });

  it('refuses bad settings with a stable code', async () => {
    const cases: Array<[Record<string, unknown>, string, string]> = [
      [{ settings: { level: 'VERBOSE', typesOff: ['log'] } }, 'BAD_USER_INPUT', 'typesOff'],
      [{ settings: { level: 'CUSTOM', typesOn: ['log'], typesOff: ['log'] } }, 'BAD_USER_INPUT', 'typesOff'],
      [{ settings: { level: 'CUSTOM', categoriesOff: ['no-such-category'] } }, 'BAD_USER_INPUT', 'categoriesOff'],
      [{ settings: { level: 'CUSTOM', typesOff: ['Not A Type'] } }, 'INVALID_EVENT_TYPE', 'typesOff'],
      [{ settings: { level: 'STANDARD', throttleSeconds: -1 } }, 'BAD_USER_INPUT', 'throttleSeconds'],
      [{ target: { group: 'no-such-group' }, settings: { level: 'OFF' } }, 'NOT_FOUND', 'target.group'],
      [{ target: { user: 'a', group: 'company' }, settings: { level: 'OFF' } }, 'BAD_USER_INPUT', 'target'],
    ];
    const before = await gqlOk(`{ loggerSettings { id level } }`);
    for (const [variables, code, field] of cases) {
      const res = await server.gql(SET, variables);
      expect(res.errors?.[0]?.extensions, JSON.stringify(variables)).toMatchObject({ code, field });
    }
    expect(await gqlOk(`{ loggerSettings { id level } }`)).toEqual(before);
  });
});

describe('a second server instance on the same database', () => {
  it('applies a change made through the first within one second', async () => {
    const second = await server.startSecondInstance();
    try {
      const probe = () => second.gql(LOG, { input: { type: 'table-produced', user: 'kim' } });
      expect((await probe()).data.log.recorded).toBe(true);
      await gqlOk(SET, { target: { user: 'kim' }, settings: { level: 'CUSTOM', typesOff: ['table-produced'] } });
      const changedAt = Date.now();
      let res = await probe();
      while (res.data.log.recorded && Date.now() - changedAt < 5000) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        res = await probe();
      }
      const elapsed = Date.now() - changedAt;
      expect(res.data.log).toMatchObject({ recorded: false, reason: 'DISABLED_BY_SETTINGS' });
      expect(elapsed).toBeLessThan(1000);

      // And back, through the second instance this time.
      await second.gql(REMOVE, { target: { user: 'kim' } });
      const back = Date.now();
      let first = await server.gql(LOG, { input: { type: 'table-produced', user: 'kim' } });
      while (!first.data.log.recorded && Date.now() - back < 5000) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        first = await server.gql(LOG, { input: { type: 'table-produced', user: 'kim' } });
      }
      expect(first.data.log.recorded).toBe(true);
      expect(Date.now() - back).toBeLessThan(1000);
    } finally {
      await second.stop();
    }
  });
});
