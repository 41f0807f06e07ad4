// Compiles src/ to dist/ for the npm package (prepack). Node strips types only outside node_modules,
// so an installed `tether` runs this JavaScript; a clone runs the sources (bin/tether.js chooses).
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('../', import.meta.url).pathname;
rmSync(join(root, 'dist'), { recursive: true, force: true });
execFileSync(
  process.execPath,
  [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json')],
  { cwd: root, stdio: 'inherit' },
);
console.error('build-dist: src/ compiled to dist/');
