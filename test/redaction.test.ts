import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql, startTestServer, type TestServer } from './helpers/server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ REDACT_PARAMETER_NAMES: 'password,token,secret,apikey,authorization,ssn' });
});
afterAll(() => server?.stop());

const LOG = `mutation($input: LogInput!) { log(input: $input) { event { id message params } } }`;
const JWT = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLXBhcnQ';
const PEM = '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----';

describe('redaction before storage', () => {
  it('stores secret-named parameters and credential-looking values redacted, and says so', async () => {
    const res = await server.gql(LOG, {
      input: {
        type: 'connection-created',
        message: `Connected with Bearer ${JWT}`,
        parameters: {
          host: 'db.example.org',
          password: 'hunter2',
          'API-Key': 'k-123456',
          user_ssn: '123-45-6789',
          header: `Authorization: Bearer abcdefghijklmnop`,
          dsn: 'postgres://app:s3cr3t@db:5432/app',
          pem: PEM,
          connection: { type: 'connection', id: 'c-1', name: 'Prod DB' },
        },
      },
    });
    expect(res.errors).toBeUndefined();
    const { id, message, params } = res.data.log.event;
    expect(message).toBe('Connected with Bearer [REDACTED]');
    expect(params).toMatchObject({
      host: 'db.example.org',
      password: '[REDACTED]',
      'API-Key': '[REDACTED]',
      user_ssn: '[REDACTED]',
      header: 'Authorization: Bearer [REDACTED]',
      dsn: 'postgres://app:[REDACTED]@db:5432/app',
      pem: '[REDACTED]',
      connection: { type: 'connection', id: 'c-1', name: 'Prod DB' },
    });
    expect(JSON.parse(params._redacted).sort()).toEqual(
      ['message', 'parameters.API-Key', 'parameters.dsn', 'parameters.header', 'parameters.password', 'parameters.pem', 'parameters.user_ssn'].sort(),
    );
    // Nothing of the secrets reached the database.
    const stored = JSON.stringify(
      await server.rows(sql`select e.description, v.value from events e join event_parameter_values v on v.event_id = e.id where e.id = ${id}`),
    );
    for (const secret of ['hunter2', 'k-123456', '123-45-6789', 'abcdefghijklmnop', 's3cr3t', 'MIIEvQ', JWT]) expect(stored).not.toContain(secret);
  });

  it('leaves an event without secrets untouched, with no _redacted parameter', async () => {
    const res = await server.gql(LOG, { input: { message: 'Opened a token-free page', parameters: { page: 'home', author: 'alice' } } });
    expect(res.data.log.event.params).toEqual({ page: 'home', author: 'alice' });
  });
});
