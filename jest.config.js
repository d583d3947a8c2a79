// Three projects: fast pure `unit` tests, `integration` tests on the real local stack
// (brought up once per run by globalSetup), and `slow` soaks/training kept out of `npm test`.
// `--selectProjects` swallows every word after it as a project name, so `jest --selectProjects
// integration test/x.test.ts` runs the whole project: put the path first, or use
// `npm run test:integration -- test/x.test.ts` (the scripts end the list with --no-watchman).
const transform = { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022' } }] };
const common = { transform, testEnvironment: 'node', moduleFileExtensions: ['ts', 'js', 'json'] };

module.exports = {
  testTimeout: 60_000,
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/test/integration/**/*.test.ts'],
      globalSetup: '<rootDir>/test/support/global-setup.ts',
      globalTeardown: '<rootDir>/test/support/global-teardown.ts',
    },
    {
      ...common,
      displayName: 'slow',
      testMatch: ['<rootDir>/test/slow/**/*.test.ts'],
      globalSetup: '<rootDir>/test/support/global-setup.ts',
      globalTeardown: '<rootDir>/test/support/global-teardown.ts',
    },
  ],
};
