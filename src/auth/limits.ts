import { costLimitPlugin } from '@escape.tech/graphql-armor-cost-limit';
import { maxAliasesPlugin } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthPlugin } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesPlugin } from '@escape.tech/graphql-armor-max-directives';
import { maxTokensPlugin } from '@escape.tech/graphql-armor-max-tokens';
import type { Plugin } from 'graphql-yoga';
import { GraphQLError, Kind, type DefinitionNode, type ValidationContext } from 'graphql';
import type { Env } from '../env.js';
import type { AuthContext } from './credentials.js';

export type OperationLimits = Pick<
  Env,
  'MAX_DEPTH' | 'MAX_COST' | 'MAX_ALIASES' | 'MAX_TOKENS' | 'MAX_DIRECTIVES' | 'WRITE_RATE_LIMIT' | 'WRITE_RATE_BURST'
>;

/** graphql-armor reports a refusal as a generic syntax error; ours carries a stable code instead. */
function reject(code: string) {
  return (context: ValidationContext | null, error: GraphQLError) => {
    const refusal = new GraphQLError(error.message.replace(/^Syntax Error: /, ''), { extensions: { code } });
    if (!context) throw refusal; // the token limit runs while parsing, before there is a validation context
    context.reportError(refusal);
  };
}

/** Depth, cost, aliases, tokens and directives per operation (graphql-armor), each with its code. */
export function operationLimitPlugins(limits: OperationLimits): Plugin[] {
  const callbacks = (code: string) => ({ onReject: [reject(code)], propagateOnRejection: false });
  return [
    maxTokensPlugin({ n: limits.MAX_TOKENS, ...callbacks('QUERY_TOO_MANY_TOKENS') }),
    maxDepthPlugin({ n: limits.MAX_DEPTH, flattenFragments: true, ...callbacks('QUERY_TOO_DEEP') }),
    costLimitPlugin({ maxCost: limits.MAX_COST, ...callbacks('QUERY_TOO_COSTLY') }),
    maxAliasesPlugin({ n: limits.MAX_ALIASES, ...callbacks('QUERY_TOO_MANY_ALIASES') }),
    maxDirectivesPlugin({ n: limits.MAX_DIRECTIVES, ...callbacks('QUERY_TOO_MANY_DIRECTIVES') }),
  ] as Plugin[];
}

/**
 * A token bucket per credential: `rate` writes a second, up to `burst` at once. Buckets of idle
 * credentials are dropped once full again, so memory follows the active credentials.
 */
export class WriteRateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly rate: number,
    private readonly burst: number,
  ) {}

  /** Takes `cost` tokens; returns 0 when allowed, else the milliseconds until it would be. */
  take(key: string, cost: number, now = Date.now()): number {
    if (this.rate <= 0) return 0;
    const bucket = this.buckets.get(key) ?? { tokens: this.burst, at: now };
    bucket.tokens = Math.min(this.burst, bucket.tokens + ((now - bucket.at) / 1000) * this.rate);
    bucket.at = now;
    if (this.buckets.size > 100_000) this.buckets.clear();
    if (bucket.tokens < cost) {
      this.buckets.set(key, bucket);
      return Math.ceil(((cost - bucket.tokens) / this.rate) * 1000);
    }
    bucket.tokens -= cost;
    if (bucket.tokens >= this.burst) this.buckets.delete(key);
    else this.buckets.set(key, bucket);
    return 0;
  }
}

/** Refuses a mutation (one token per root field) once its credential ran out of write tokens. */
export function writeRateLimitPlugin(limiter: WriteRateLimiter): Plugin<{ auth?: AuthContext }> {
  return {
    onExecute({ args, setResultAndStopExecution }) {
      const operation = args.document.definitions.find(
        (d: DefinitionNode) => d.kind === Kind.OPERATION_DEFINITION && (!args.operationName || d.name?.value === args.operationName),
      );
      if (!operation || operation.kind !== Kind.OPERATION_DEFINITION || operation.operation !== 'mutation') return;
      const key = args.contextValue.auth?.credentialId ?? 'anonymous';
      const waitMs = limiter.take(key, operation.selectionSet.selections.length);
      if (waitMs > 0) {
        setResultAndStopExecution({
          errors: [
            new GraphQLError(`Too many writes with this credential; retry in ${waitMs} ms.`, {
              extensions: { code: 'RATE_LIMITED', retryAfterMs: waitMs },
            }),
          ],
        });
      }
    },
  };
}
