// Lets one view open another (an approval's chain, a hop's proof) without importing the shell.
export const nav = {
  /** Replaced by app.js: shows `tab`, passing `arg` to its view. */
  open: async (_tab, _arg) => undefined,
  /** True when the signed-in caller is a person (agents get read-only views). */
  human: false,
};
