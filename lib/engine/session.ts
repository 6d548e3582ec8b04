/** Entering an engine's process's namespaces, with the errors that mean "not yours". */
import { enter, type Session } from '../ns/session';
import { isErrno, type EngineErrors } from './errors';

/** A session in `pid`'s user and mount namespaces (rooted at `root` when given); `what` names the process in errors. */
export async function enterPid(pid: number, root: string | undefined, what: string, fail: EngineErrors): Promise<Session> {
  try {
    return await enter(root === undefined ? { pid } : { pid, root });
  } catch (error) {
    if (isErrno(error, 'EPERM', 'EACCES')) {
      throw fail(
        'access',
        `cannot enter the namespaces of ${what} (pid ${pid}): ${(error as Error).message}; ` +
          `they belong to another user: run as that user (or root)`,
        { pid, cause: error },
      );
    }
    throw error;
  }
}
