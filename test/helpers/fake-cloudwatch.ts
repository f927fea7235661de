import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedLogEvent {
  timestamp: number;
  message: string;
}

/**
 * A local endpoint that speaks the CloudWatch Logs JSON 1.1 protocol (`X-Amz-Target:
 * Logs_20140328.<Operation>`) for the operations the exporter uses, keeps what it receives, checks
 * PutLogEvents against the service's rules, and fails on demand.
 */
export class FakeCloudWatch {
  readonly groups = new Map<string, Map<string, ReceivedLogEvent[]>>();
  readonly calls: Array<{ operation: string; status: number; authorization: string | undefined }> = [];
  /** PutLogEvents calls (counted from 1, failed ones included) that answer 500. */
  failPutCalls = new Set<number>();
  private putCalls = 0;
  private server: Server;
  url = '';

  constructor() {
    this.server = createServer((req, res) => {
      void this.handle(req).then(({ status, body }) => {
        res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': `req-${this.calls.length}` });
        res.end(JSON.stringify(body));
      });
    });
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.url;
  }

  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  /** Every message received, parsed, with its stream. */
  received(group: string): Array<{ stream: string; timestamp: number; record: any }> {
    const streams = this.groups.get(group) ?? new Map();
    return [...streams].flatMap(([stream, events]) => events.map((e: ReceivedLogEvent) => ({ stream, timestamp: e.timestamp, record: JSON.parse(e.message) })));
  }

  private async handle(req: IncomingMessage): Promise<{ status: number; body: unknown }> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const input = JSON.parse(Buffer.concat(chunks).toString() || '{}');
    const operation = String(req.headers['x-amz-target'] ?? '').replace(/^Logs_20140328\./, '');
    const answer = this.operation(operation, input);
    this.calls.push({ operation, status: answer.status, authorization: req.headers.authorization });
    return answer;
  }

  private operation(operation: string, input: any): { status: number; body: unknown } {
    const error = (status: number, type: string, message: string) => ({ status, body: { __type: type, message } });
    const group = this.groups.get(input.logGroupName);
    switch (operation) {
      case 'CreateLogGroup':
        if (group) return error(400, 'ResourceAlreadyExistsException', 'The specified log group already exists');
        this.groups.set(input.logGroupName, new Map());
        return { status: 200, body: {} };
      case 'CreateLogStream':
        if (!group) return error(400, 'ResourceNotFoundException', 'The specified log group does not exist.');
        if (group.has(input.logStreamName)) return error(400, 'ResourceAlreadyExistsException', 'The specified log stream already exists');
        group.set(input.logStreamName, []);
        return { status: 200, body: {} };
      case 'PutLogEvents': {
        this.putCalls += 1;
        if (this.failPutCalls.has(this.putCalls)) return error(500, 'ServiceUnavailableException', 'The service is unavailable (on demand)');
        const stream = group?.get(input.logStreamName);
        if (!stream) return error(400, 'ResourceNotFoundException', 'The specified log stream does not exist.');
        const events: ReceivedLogEvent[] = input.logEvents ?? [];
        if (events.length === 0 || events.length > 10_000) return error(400, 'InvalidParameterException', 'logEvents: 1 to 10000 events');
        const bytes = events.reduce((sum, e) => sum + Buffer.byteLength(e.message) + 26, 0);
        if (bytes > 1_048_576) return error(400, 'InvalidParameterException', 'batch larger than 1,048,576 bytes');
        for (let i = 1; i < events.length; i++) {
          if (events[i]!.timestamp < events[i - 1]!.timestamp) return error(400, 'InvalidParameterException', 'Log events in a single PutLogEvents request must be in chronological order.');
        }
        if (events.at(-1)!.timestamp - events[0]!.timestamp > 24 * 3600 * 1000) return error(400, 'InvalidParameterException', 'A batch spans more than 24 hours');
        stream.push(...events);
        return { status: 200, body: { nextSequenceToken: String(this.putCalls) } };
      }
      default:
        return error(400, 'UnknownOperationException', `unknown operation ${operation}`);
    }
  }
}
