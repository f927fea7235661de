import {
  CloudWatchLogsClient,
  CreateLogGroupCommand,
  CreateLogStreamCommand,
  PutLogEventsCommand,
  type InputLogEvent,
  type RejectedLogEventsInfo,
} from '@aws-sdk/client-cloudwatch-logs';
import type { AuditEvent } from '../audit/model.js';
import type { Destination } from './destination.js';
import { eventLevel, eventRecord } from './record.js';
import type { CloudWatchConfig } from './sinks.js';

/** PutLogEvents limits: bytes per call (each event counts 26 bytes more than its message), one event's size, a call's time span. */
const MAX_BATCH_BYTES = 1_048_576;
const EVENT_OVERHEAD = 26;
const MAX_EVENT_BYTES = 256 * 1024 - EVENT_OVERHEAD;
const MAX_SPAN_MS = 24 * 60 * 60 * 1000;

export interface CloudWatchBatch {
  stream: string;
  events: InputLogEvent[];
}

const byteLength = (text: string) => Buffer.byteLength(text, 'utf8');

/** The stream of an event: its type's entry, else its category's, else the default stream (or none). */
export function streamFor(config: CloudWatchConfig, event: AuditEvent): string | null {
  return (
    config.streams.find((s) => s.match === event.type)?.stream ??
    config.streams.find((s) => s.match === event.category)?.stream ??
    config.defaultStream
  );
}

/** The event as a JSON message within CloudWatch's size limit (long fields are cut, and it says so). */
function message(event: AuditEvent): string {
  const record = eventRecord(event);
  let text = JSON.stringify(record);
  if (byteLength(text) <= MAX_EVENT_BYTES) return text;
  text = JSON.stringify({ ...record, params: {}, stackTrace: record.stackTrace?.slice(0, 20_000) ?? null, truncated: true });
  if (byteLength(text) <= MAX_EVENT_BYTES) return text;
  return JSON.stringify({ ...record, params: {}, stackTrace: null, message: record.message?.slice(0, 50_000) ?? null, truncated: true });
}

/** Splits one stream's events into PutLogEvents calls: chronological, within the count, byte and 24-hour limits. */
export function batchesFor(stream: string, events: InputLogEvent[], batchSize: number): CloudWatchBatch[] {
  const sorted = [...events].sort((a, b) => a.timestamp! - b.timestamp!);
  const batches: CloudWatchBatch[] = [];
  let current: InputLogEvent[] = [];
  let bytes = 0;
  for (const event of sorted) {
    const size = byteLength(event.message!) + EVENT_OVERHEAD;
    const full =
      current.length >= batchSize || bytes + size > MAX_BATCH_BYTES || (current.length > 0 && event.timestamp! - current[0]!.timestamp! > MAX_SPAN_MS);
    if (full) {
      batches.push({ stream, events: current });
      current = [];
      bytes = 0;
    }
    current.push(event);
    bytes += size;
  }
  if (current.length > 0) batches.push({ stream, events: current });
  return batches;
}

function describeRejected(info: RejectedLogEventsInfo, batch: CloudWatchBatch): string {
  const parts: string[] = [];
  if (info.tooOldLogEventEndIndex !== undefined) parts.push(`${info.tooOldLogEventEndIndex + 1} too old`);
  if (info.expiredLogEventEndIndex !== undefined) parts.push(`${info.expiredLogEventEndIndex + 1} past the group's retention`);
  if (info.tooNewLogEventStartIndex !== undefined) parts.push(`${batch.events.length - info.tooNewLogEventStartIndex} too far in the future`);
  return `CloudWatch rejected events of stream ${batch.stream}: ${parts.join(', ')}`;
}

const errorName = (error: unknown) => (error as { name?: string } | null)?.name;

/**
 * Delivers to one log group. Credentials are never part of the configuration: the SDK takes them
 * from the environment or the named profile. The SDK does not retry (maxAttempts 1): the worker
 * does, with backoff, and shows each failure as the sink's last error.
 */
export class CloudWatchDestination implements Destination<CloudWatchBatch> {
  private readonly client: CloudWatchLogsClient;
  private readonly knownStreams = new Set<string>();

  constructor(private readonly config: CloudWatchConfig) {
    this.client = new CloudWatchLogsClient({
      region: config.region,
      maxAttempts: 1,
      requestHandler: { connectionTimeout: 10_000, requestTimeout: 30_000 },
      ...(config.endpoint ? { endpoint: config.endpoint } : {}),
      ...(config.profile ? { profile: config.profile } : {}),
    });
  }

  prepare(events: AuditEvent[]): CloudWatchBatch[] {
    const byStream = new Map<string, InputLogEvent[]>();
    for (const event of events) {
      if (!this.config.levels.includes(eventLevel(event))) continue;
      const stream = streamFor(this.config, event);
      if (!stream) continue;
      const list = byStream.get(stream) ?? [];
      list.push({ timestamp: event.occurredAt.getTime(), message: message(event) });
      byStream.set(stream, list);
    }
    return [...byStream].flatMap(([stream, list]) => batchesFor(stream, list, this.config.batchSize));
  }

  async send(batch: CloudWatchBatch, signal: AbortSignal): Promise<{ delivered: number; warning?: string }> {
    const put = () =>
      this.client.send(
        new PutLogEventsCommand({ logGroupName: this.config.logGroup, logStreamName: batch.stream, logEvents: batch.events }),
        { abortSignal: signal },
      );
    let response;
    try {
      response = await put();
    } catch (error) {
      if (errorName(error) !== 'ResourceNotFoundException' || this.knownStreams.has(batch.stream)) throw error;
      await this.createStream(batch.stream, signal);
      response = await put();
    }
    this.knownStreams.add(batch.stream);
    const rejected = response.rejectedLogEventsInfo;
    return rejected ? { delivered: batch.events.length, warning: describeRejected(rejected, batch) } : { delivered: batch.events.length };
  }

  /** Creates a missing stream, and its group when that is missing too; "already exists" is success. */
  private async createStream(stream: string, signal: AbortSignal): Promise<void> {
    const ignoreExisting = (error: unknown) => {
      if (errorName(error) !== 'ResourceAlreadyExistsException') throw error;
    };
    const create = () =>
      this.client.send(new CreateLogStreamCommand({ logGroupName: this.config.logGroup, logStreamName: stream }), { abortSignal: signal }).catch(ignoreExisting);
    try {
      await create();
    } catch (error) {
      if (errorName(error) !== 'ResourceNotFoundException') throw error;
      await this.client.send(new CreateLogGroupCommand({ logGroupName: this.config.logGroup }), { abortSignal: signal }).catch(ignoreExisting);
      await create();
    }
  }

  async close(): Promise<void> {
    this.client.destroy();
  }
}
