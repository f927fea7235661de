import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './helpers/server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.stop());

const START = `mutation($input: StartSessionInput!) { startSession(input: $input) { id ipAddress userAgent process startedAt endedAt } }`;
const END = `mutation($id: ID!, $reason: SessionEndReason) { endSession(id: $id, reason: $reason) { id endedAt endReason } }`;

describe('sessions', () => {
  it('records login, events in the session, and logout; the user shows them all', async () => {
    const started = await server.gql(START, { input: { user: 'carol', ipAddress: '10.1.2.3', userAgent: 'Firefox/140' } });
    expect(started.errors).toBeUndefined();
    const session = started.data.startSession;
    expect(session).toMatchObject({ ipAddress: '10.1.2.3', userAgent: 'Firefox/140', process: 'CLIENT', endedAt: null });

    const logged = await server.gql(`mutation($s: ID!) { log(input: { type: "project-opened", sessionId: $s }) { event { user sessionId } } }`, { s: session.id });
    expect(logged.data.log.event).toEqual({ user: 'carol', sessionId: session.id });

    const ended = await server.gql(END, { id: session.id });
    expect(ended.data.endSession).toMatchObject({ id: session.id, endReason: 'LOGOUT' });
    expect(ended.data.endSession.endedAt).not.toBeNull();

    const user = await server.gql(`{ user(login: "carol") { login sessions { nodes { id endReason } } activity { nodes { type sessionId params } } } }`);
    expect(user.data.user.sessions.nodes).toEqual([{ id: session.id, endReason: 'LOGOUT' }]);
    expect(user.data.user.activity.nodes.map((n: { type: string }) => n.type)).toEqual(['logout', 'project-opened', 'login']);
    expect(user.data.user.activity.nodes.every((n: { sessionId: string }) => n.sessionId === session.id)).toBe(true);
    expect(user.data.user.activity.nodes[2].params).toEqual({ ipAddress: '10.1.2.3', userAgent: 'Firefox/140' });
  });

  it('records a timeout, refuses to end a session twice, and rejects bad input', async () => {
    const { data } = await server.gql(START, { input: { user: 'dan', process: 'SERVER' } });
    const timedOut = await server.gql(END, { id: data.startSession.id, reason: 'TIMEOUT' });
    expect(timedOut.data.endSession.endReason).toBe('TIMEOUT');
    const again = await server.gql(END, { id: data.startSession.id });
    expect(again.errors?.[0]?.extensions?.code).toBe('SESSION_ALREADY_ENDED');
    const types = await server.gql(`{ user(login: "dan") { activity { nodes { type source } } } }`);
    expect(types.data.user.activity.nodes).toEqual([
      { type: 'session-timeout', source: 'SERVER' },
      { type: 'login', source: 'SERVER' },
    ]);
    expect((await server.gql(END, { id: 'not-a-uuid' })).errors?.[0]?.extensions?.code).toBe('UNKNOWN_SESSION');
    expect((await server.gql(END, { id: '00000000-0000-4000-8000-000000000000' })).errors?.[0]?.extensions?.code).toBe('UNKNOWN_SESSION');
    expect((await server.gql(START, { input: { user: 'dan', ipAddress: '999.1.1.1' } })).errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect((await server.gql(START, { input: { user: '  ' } })).errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('refuses an event whose user is not the session’s user', async () => {
    const { data } = await server.gql(START, { input: { user: 'erin' } });
    const res = await server.gql(`mutation($s: ID!) { log(input: { sessionId: $s, user: "mallory" }) { recorded } }`, { s: data.startSession.id });
    expect(res.errors?.[0]?.extensions?.code).toBe('SESSION_USER_MISMATCH');
    expect((await server.gql(`{ user(login: "mallory") { login } }`)).data.user).toBeNull();
  });
});
