// Lint rules: eslint's and typescript-eslint's recommended sets.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.js'],
    languageOptions: { sourceType: 'commonjs', globals: { module: 'writable', require: 'readonly', process: 'readonly' } },
  },
  {
    // The demo SPA and the browser client run in the browser as ES modules.
    files: ['public/**/*.js', 'public/**/*.mjs'],
    languageOptions: {
      sourceType: 'module',
      globals: {
        document: 'readonly',
        fetch: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        URL: 'readonly',
        Request: 'readonly',
        EventTarget: 'readonly',
        CustomEvent: 'readonly',
        BroadcastChannel: 'readonly',
        AbortSignal: 'readonly',
        navigator: 'readonly',
        crypto: 'readonly',
      },
    },
  },
  {
    // Plain Node.js CommonJS, run untranspiled as a user's code would be: the example app and test fixtures.
    files: ['examples/**/*.js', 'test/**/fixtures/*.js'],
    languageOptions: { globals: { console: 'readonly', fetch: 'readonly', setTimeout: 'readonly', __dirname: 'readonly' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // The example app's own jest tests.
    files: ['examples/**/*.test.js'],
    languageOptions: { globals: { test: 'readonly', expect: 'readonly', beforeAll: 'readonly', afterAll: 'readonly', describe: 'readonly', it: 'readonly' } },
  },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', ignoreRestSiblings: true }],
    },
  },
);
