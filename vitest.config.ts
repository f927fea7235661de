import { defineConfig } from 'vitest/config';

export default defineConfig({
  // graphql ships CommonJS and ESM copies; Node (and so the libraries) load the CommonJS one.
  // Resolving our own imports the same way keeps one GraphQLError class in the tests.
  resolve: { alias: { graphql: 'graphql/index.js' } },
  test: {
    include: ['test/**/*.test.ts'],
    // Each file starts its own server on a fresh database, so files run in parallel safely.
    pool: 'forks',
    globalSetup: ['test/helpers/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
