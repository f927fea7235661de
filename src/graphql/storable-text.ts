import { GraphQLError, Kind, visit, type DocumentNode } from 'graphql';
import type { Plugin } from 'graphql-yoga';

/**
 * PostgreSQL text holds neither U+0000 nor an unpaired surrogate (half of a UTF-16 pair, which has
 * no UTF-8 form): such a string would fail deep in a statement, or be stored changed. Every string
 * an operation brings — its variables and the literals in its document — is checked before it
 * runs, and refused with BAD_USER_INPUT naming where it is.
 */
export function storableTextPlugin(): Plugin {
  const checkedDocuments = new WeakMap<DocumentNode, string | null>();
  const problemOf = (document: DocumentNode, variables: unknown): string | null => {
    let inDocument = checkedDocuments.get(document);
    if (inDocument === undefined) {
      inDocument = null;
      visit(document, {
        [Kind.STRING]: (node) => {
          const problem = unstorable(node.value);
          if (problem && inDocument === null) inDocument = `A string in the query ${problem}`;
        },
      });
      checkedDocuments.set(document, inDocument);
    }
    return inDocument ?? firstUnstorable(variables, 'variables');
  };
  const refuse = (message: string) => ({ errors: [new GraphQLError(`${message}, which cannot be stored.`, { extensions: { code: 'BAD_USER_INPUT' } })] });
  return {
    onExecute({ args, setResultAndStopExecution }) {
      const problem = problemOf(args.document, args.variableValues);
      if (problem) setResultAndStopExecution(refuse(problem));
    },
    onSubscribe({ args, setResultAndStopExecution }) {
      const problem = problemOf(args.document, args.variableValues);
      if (problem) setResultAndStopExecution(refuse(problem));
    },
  };
}

function unstorable(text: string): string | null {
  if (text.includes('\u0000')) return 'contains U+0000 (NUL)';
  if (!text.isWellFormed()) return 'contains an unpaired surrogate';
  return null;
}

/** Where the first string that cannot be stored is in a JSON value (object keys count too), or null. */
function firstUnstorable(value: unknown, path: string): string | null {
  if (typeof value === 'string') {
    const problem = unstorable(value);
    return problem && `${path} ${problem}`;
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = firstUnstorable(value[i], `${path}[${i}]`);
      if (found) return found;
    }
    return null;
  }
  if (typeof value === 'object' && value !== null) {
    for (const [key, item] of Object.entries(value)) {
      const keyProblem = unstorable(key);
      if (keyProblem) return `a key in ${path} ${keyProblem}`;
      const found = firstUnstorable(item, `${path}.${key}`);
      if (found) return found;
    }
  }
  return null;
}
