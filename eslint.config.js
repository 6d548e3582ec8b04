'use strict';
const js = require('@eslint/js');
const tseslint = require('typescript-eslint');

module.exports = tseslint.config(
  // test/tsd/: type errors on purpose (expectError), checked by tsd (test/types.test.ts), outside tsconfig.json.
  { ignores: ['dist/', 'build/', 'build-*/', 'node_modules/', 'prebuilds/', 'benchmarks/out/', 'benchmarks/fixtures/', 'docs/api/', 'test/tsd/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    // TypeScript with its types: no-floating-promises and the rest of the
    // type-aware recommended set (a promise-heavy library).
    files: ['**/*.ts'],
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: __dirname } },
    rules: {
      // Methods are passed as CallSite markers (where a stack trace is
      // cut), never called unbound; jest's expect(obj.method) is the same.
      '@typescript-eslint/unbound-method': 'off',
      // Async iterator methods (return(), next()) and async generators that
      // feed tests are async by protocol, with or without an await.
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    // jest's asymmetric matchers (expect.objectContaining, ...) are typed any.
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-unsafe-argument': 'off', '@typescript-eslint/no-unsafe-assignment': 'off' },
  },
  {
    files: ['**/*.js'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: { require: 'readonly', module: 'writable', process: 'readonly', console: 'readonly', __dirname: 'readonly', __filename: 'readonly', Buffer: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly' },
    },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // ES modules run by node as they are (test/fixtures/dropin: a user's program).
    files: ['**/*.mjs'],
    languageOptions: { sourceType: 'module', globals: { process: 'readonly', console: 'readonly' } },
  },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
);
