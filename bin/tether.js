#!/usr/bin/env node
// The `tether` command. In a clone it runs the TypeScript sources (Node strips the types); the npm
// package ships them compiled to dist/ (npm pack builds it), because Node does not strip types of
// files under node_modules, where an installed package lives.
import { existsSync } from 'node:fs';

const source = new URL('../src/cli/main.ts', import.meta.url);
await import(existsSync(source) ? source.href : new URL('../dist/cli/main.js', import.meta.url).href);
