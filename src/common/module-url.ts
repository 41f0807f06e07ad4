// Worker threads are started from a file URL: a sibling module's name with the extension this module
// has — `.ts` when Node runs the sources, `.js` in the compiled package (dist/).
export function siblingModule(base: string, name: string): URL {
  return new URL(`./${name}${base.endsWith('.ts') ? '.ts' : '.js'}`, base);
}
