// The two kinds of FileSystem a suite holds to node:fs: `host` (the server
// on a thread of this process) and a session in a namespace of our own (a
// worker in other namespaces), each with its set-up and tear-down, for
// `describe.each(fileSystemTargets())` with beforeAll/afterAll calling them.
import { createNamespace, host, type FileSystem, type Namespace, type Session } from '../../lib';

export interface FileSystemTarget {
  name: string;
  fs(): FileSystem;
  setup?(): Promise<void>;
  teardown?(): Promise<void>;
}

/** The host, and a session in a namespace made in setup() and closed in teardown(). */
export function fileSystemTargets(): FileSystemTarget[] {
  let ns: Namespace | undefined;
  let session: Session | undefined;
  return [
    { name: 'host', fs: () => host },
    {
      name: 'namespace session',
      fs: () => {
        if (session === undefined) throw new Error('the namespace session is made in setup()');
        return session;
      },
      async setup() {
        ns = await createNamespace();
        session = await ns.enter();
      },
      async teardown() {
        await session?.close();
        await ns?.close();
      },
    },
  ];
}

/**
 * Whether this node's fs.cp is the one the library's cp and copies follow:
 * node 20's (the floor), written in JavaScript.  Later nodes moved fs.cp to
 * C++ and answer some edge cases otherwise (a dangling link over an
 * existing copy is ENOENT on node 24, `preserveTimestamps: false` keeps
 * other times): the suites that hold us to node's fs.cp case by case hold
 * us to node 20's, in CI's Node 20 run (as the ordinary user, host and
 * namespace); the rest of those suites runs on every node.
 */
export const NODE_CP_REFERENCE = Number(process.versions.node.split('.')[0]) === 20;
