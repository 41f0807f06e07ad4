// JSON bodies are checked for nesting depth before they are parsed: everything downstream
// (decoders, CEL, canonical JSON) walks objects recursively, and 9,000 nested arrays would
// exhaust the stack there as a 500 instead of a 400 here. Kubernetes objects nest a few dozen
// levels; the limit leaves room for the deepest CRD and refuses the rest.
export const MAX_JSON_DEPTH = 512;

/** The deepest nesting of objects and arrays in JSON text, or more than `max` as soon as it goes past it. */
export function jsonDepth(text: string, max = MAX_JSON_DEPTH): number {
  let depth = 0;
  let deepest = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      i = stringEnd(text, i);
      if (i < 0) return deepest; // unterminated: the parser refuses it
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > deepest) deepest = depth;
      if (deepest > max) return deepest;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return deepest;
}

/** Index of the quote closing the string opened at `open` (skipping escaped quotes), or -1. */
function stringEnd(text: string, open: number): number {
  let j = open;
  for (;;) {
    j = text.indexOf('"', j + 1);
    if (j < 0) return -1;
    let backslashes = 0;
    while (text.charCodeAt(j - 1 - backslashes) === 0x5c) backslashes++;
    if (backslashes % 2 === 0) return j;
  }
}

/** A Fastify-shaped error that the error handler answers as 400 with this message. */
export function tooDeep(max = MAX_JSON_DEPTH): Error & { statusCode: number; code: string } {
  return Object.assign(new Error(`the JSON body nests deeper than ${max} levels`), {
    statusCode: 400,
    code: 'TETHER_JSON_TOO_DEEP',
  });
}
