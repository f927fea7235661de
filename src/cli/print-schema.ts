import { writeFileSync } from 'node:fs';
import { printedSchema } from '../graphql/index.js';

// Writes schema.graphql (sorted), the checked-in contract that CI compares with the code.
writeFileSync(new URL('../../schema.graphql', import.meta.url), printedSchema());
