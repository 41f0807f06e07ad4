import { celEnv, isCelError, parse, plan } from '@bufbuild/cel';

/**
 * A runtime failure comes back as its class only ("type conversion failed"), never the CEL
 * library's message: that message quotes the evaluated values ("Cannot convert S3CR3T-PIN-6 to a
 * BigInt"), and a condition over a Secret would carry its data into decisions, the ledger and logs.
 */
export type CelProgram = (bindings: Record<string, unknown>) => { value: boolean } | { error: CelErrorClass };

export type CelErrorClass =
  | 'type conversion failed'
  | 'no matching overload (a value has another type than the expression expects)'
  | 'missing field (guard it with has())'
  | 'division by zero'
  | 'invalid regular expression'
  | 'the expression did not return a bool'
  | 'evaluation error';

const CLASSES: readonly [RegExp, CelErrorClass][] = [
  [/cannot convert|failed to parse|invalid syntax|out of range|overflow/i, 'type conversion failed'],
  [
    /no matching overload|no such overload/i,
    'no matching overload (a value has another type than the expression expects)',
  ],
  [
    /field not found|no such key|no such field|no such attribute|undeclared reference/i,
    'missing field (guard it with has())',
  ],
  [/divide by zero|modulus by zero|division by zero/i, 'division by zero'],
  [/regexp|regular expression/i, 'invalid regular expression'],
];

/** The class of a CEL runtime error: what went wrong, without any value it was working on. */
export function celErrorClass(message: string): CelErrorClass {
  return CLASSES.find(([re]) => re.test(message))?.[1] ?? 'evaluation error';
}

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
      return { error: celErrorClass((e as Error).message) };
    }
    if (isCelError(r)) return { error: celErrorClass(r.message) };
    if (typeof r !== 'boolean') return { error: 'the expression did not return a bool' };
    return { value: r };
  };
  return { program };
}
