// JSON bodies are checked for nesting depth before they are parsed: everything downstream
// (decoders, CEL, canonical JSON) walks objects recursively, and 9,000 nested arrays would
// exhaust the stack there as a 500 instead of a 400 here. Kubernetes objects nest a few dozen
// levels; the limit leaves room for the deepest CRD and refuses the rest.
export const MAX_JSON_DEPTH = 512;

/** The deepest nesting of objects and arrays in JSON text, or MAX+1 as soon as it goes past `max`. */
export function jsonDepth(text: string, max = MAX_JSON_DEPTH): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > deepest) deepest = depth;
      if (deepest > max) return deepest;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return deepest;
}

/** A Fastify-shaped error that the error handler answers as 400 with this message. */
export function tooDeep(max = MAX_JSON_DEPTH): Error & { statusCode: number; code: string } {
  return Object.assign(new Error(`the JSON body nests deeper than ${max} levels`), { statusCode: 400, code: 'TETHER_JSON_TOO_DEEP' });
}
