import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OVERFLOW } from '../src/live/event-bus.js';
import type { AuditEvent } from '../src/audit/model.js';
import { sql, startTestServer, subscribe, untilSubscribed, type TestServer } from './helpers/server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.stop());

const LOG = `mutation($input: LogInput!) { log(input: $input) { recorded event { id } } }`;
const LOG_BATCH = `mutation($events: [LogInput!]!) { logBatch(events: $events) { recorded } }`;
const ERRORS = `subscription { errors { id type message isError fingerprint errorMessage user } }`;

describe('live feeds over graphql-ws', () => {
  it('delivers an error logged over HTTP to an errors subscriber, and nothing else', async () => {
    const before = server.services.fanout.subscribers;
    const feed = subscribe(server.wsClient(), ERRORS);
    await untilSubscribed(server, before + 1);
    await server.gql(LOG, { input: { type: 'query-created', message: 'not an error' } });
    const logged = await server.gql(LOG, { input: { type: 'error', message: 'Query failed', stackTrace: 'Error: Query failed\n    at run (q.js:1:1)', user: 'ivy' } });
    const [message] = await feed.waitFor(1);
    expect(message!.errors).toBeUndefined();
    expect(message!.data.errors).toMatchObject({ id: logged.data.log.event.id, type: 'error', message: 'Query failed', errorMessage: 'Query failed', isError: true, user: 'ivy' });
    expect(message!.data.errors.fingerprint).toMatch(/^[0-9a-f]{16}$/);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(feed.received.length).toBe(1);
    feed.unsubscribe();
    await untilSubscribed(server, before);
  });

  it('never delivers an event whose transaction rolled back', async () => {
    // A trigger makes the second statement of the batch fail after the events were inserted.
    await server.rows(sql`create function fail_on_boom() returns trigger language plpgsql as $$
      begin if new.value = 'boom' then raise exception 'boom refused'; end if; return new; end $$`);
    await server.rows(sql`create trigger fail_on_boom before insert on event_parameter_values for each row execute function fail_on_boom()`);
    const before = server.services.fanout.subscribers;
    const feed = subscribe(server.wsClient(), ERRORS);
    await untilSubscribed(server, before + 1);

    const failed = await server.gql(LOG_BATCH, {
      events: [
        { type: 'error', message: 'rolled back 1' },
        { type: 'error', message: 'rolled back 2', parameters: { p: 'boom' } },
      ],
    });
    expect(failed.errors?.[0]?.extensions?.code).toBe('INTERNAL_SERVER_ERROR');
    expect(failed.data?.logBatch ?? null).toBeNull();
    await server.gql(LOG, { input: { type: 'error', message: 'committed' } });

    const [first] = await feed.waitFor(1);
    expect(first!.data.errors.message).toBe('committed');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(feed.received.map((m) => m.data.errors.message)).toEqual(['committed']);
    const [row] = await server.rows<{ n: number }>(sql`select count(*)::int as n from events where description like 'rolled back%'`);
    expect(row!.n).toBe(0);
    await server.rows(sql`drop trigger fail_on_boom on event_parameter_values`);
    feed.unsubscribe();
    await untilSubscribed(server, before);
  });

  it('publishes each event of a batch, in order, to the subscribers whose filter it matches', async () => {
    const before = server.services.fanout.subscribers;
    const jobs = subscribe(server.wsClient(), `subscription { events(filter: { types: ["job-start"], user: "joe" }) { message } }`);
    const entity = subscribe(server.wsClient(), `subscription { entityActivity(type: "job", id: "nightly") { message params } }`);
    await untilSubscribed(server, before + 2);
    const res = await server.gql(LOG_BATCH, {
      events: [
        { type: 'job-start', user: 'joe', message: 'a', parameters: { job: { type: 'job', id: 'nightly' } } },
        { type: 'job-start', user: 'kim', message: 'b', parameters: { job: { type: 'job', id: 'nightly' } } },
        { type: 'job-edited', user: 'joe', message: 'c' },
        { type: 'job-start', user: 'joe', message: 'd' },
      ],
    });
    expect(res.data.logBatch.recorded).toBe(4);
    await jobs.waitFor(2);
    await entity.waitFor(2);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(jobs.received.map((m) => m.data.events.message)).toEqual(['a', 'd']);
    expect(entity.received.map((m) => m.data.entityActivity.message)).toEqual(['a', 'b']);
    expect(entity.received[0]!.data.entityActivity.params).toEqual({ job: { type: 'job', id: 'nightly', name: null } });
    jobs.unsubscribe();
    entity.unsubscribe();
    await untilSubscribed(server, before);
  });

  it('drops a subscriber when the socket closes', async () => {
    const before = server.services.fanout.subscribers;
    const client = server.wsClient();
    subscribe(client, ERRORS);
    await untilSubscribed(server, before + 1);
    await client.dispose();
    await untilSubscribed(server, before);
    expect(server.services.fanout.subscribers).toBe(before);
  });
});

describe('a slow subscriber', () => {
  it('is ended with OVERFLOW once its buffer is full, while a reading subscriber gets everything', async () => {
    const bus = server.services.bus;
    const slow = bus.subscribe(() => true, 5);
    const fast = bus.subscribe(() => true, 5);
    const event = (i: number) => ({ id: String(i) }) as AuditEvent;
    const fastSeen: string[] = [];
    for (let i = 0; i < 12; i++) {
      bus.publish([event(i)]);
      const next = await fast.next();
      fastSeen.push((next.value as AuditEvent).id);
    }
    expect(fastSeen).toEqual(Array.from({ length: 12 }, (_, i) => String(i)));
    const slowSeen: unknown[] = [];
    for (;;) {
      const next = await slow.next();
      if (next.done) break;
      slowSeen.push(next.value === OVERFLOW ? 'OVERFLOW' : (next.value as AuditEvent).id);
    }
    expect(slowSeen).toEqual(['0', '1', '2', '3', '4', 'OVERFLOW']);
    await fast.return!();
  });
});
