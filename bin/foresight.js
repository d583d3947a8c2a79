#!/usr/bin/env node
// Runs the TypeScript CLI through tsx's require hook, so a fresh `npm ci` is all it takes.
require('tsx/cjs');
require('../cli/main.ts')
  .main(process.argv.slice(2))
  .then((code) => {
    process.exitCode = code;
  });
