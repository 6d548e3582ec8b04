// Ctrl-C for the command line.  The first SIGINT stops the job where it
// runs: the run's signal (Output.closed) aborts, which the library's
// `signal` options pass to the server, so a walk or a tar stops there and
// the verb unwinds through its own cleanup (a session closed, a temporary
// file removed).  main then tells on stderr what was done, from the
// progress counters, and exits 130 as a shell's job killed by SIGINT
// would.  A second SIGINT exits at once; the 'exit' hooks still run
// (export's temporary file, the library's mount points).
//
// The server's worker ignores SIGINT itself (native/core/worker.cc): the
// terminal signals the whole process group, and the worker must outlive
// the signal to finish cleanly when told to by this process.
import { EXIT, type Output } from './output';

/** Handles SIGINT for the run until the returned function is called. */
export function handleInterrupts(out: Output): () => void {
  const onSigint = (): void => {
    if (!out.interrupted) {
      out.interrupt();
      return;
    }
    out.progress.done();
    process.stderr.write(`unshare-fs: interrupted again after ${out.progress.summary()}: exiting at once\n`);
    process.exit(EXIT.interrupted);
  };
  process.on('SIGINT', onSigint);
  return () => {
    process.removeListener('SIGINT', onSigint);
  };
}

/** The line an interrupted run ends with on stderr. */
export function interruptedLine(out: Output): string {
  return `unshare-fs: interrupted after ${out.progress.summary()}\n`;
}
