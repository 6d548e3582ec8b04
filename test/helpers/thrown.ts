/** The error `fn` throws; fails when it throws nothing. */
export function thrown(fn: () => unknown): Error & { code?: string; path?: string } {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error('did not throw');
}
