/** Input the detector cannot work with at all (no repository, no such revision, unreadable live state). */
export class DriftInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DriftInputError';
  }
}
