import { celEnv, isCelError, parse, plan } from '@bufbuild/cel';

export type CelProgram = (bindings: Record<string, unknown>) => { value: boolean } | { error: string };

const env = celEnv();

/** Compiles a CEL expression once; the program returns a boolean or says why it could not. */
export function compileCel(expression: string): { program: CelProgram } | { error: string } {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(expression);
  } catch (e) {
    return { error: `CEL does not compile: ${(e as Error).message.replace(/^<input>:/, 'at ')}` };
  }
  const run = plan(env, parsed);
  const program: CelProgram = (bindings) => {
    let r: unknown;
    try {
      r = run(bindings as never);
    } catch (e) {
      return { error: (e as Error).message };
    }
    if (isCelError(r)) return { error: r.message };
    if (typeof r !== 'boolean') return { error: `expression must return a bool, returned ${typeof r}` };
    return { value: r };
  };
  return { program };
}
