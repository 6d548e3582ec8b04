// The request server: reads request frames from a stream socket and runs
// each request as a job of its own, so that requests that block (a FIFO, a
// hung FUSE file, a slow consumer) never hold up a quick one (a stat) nor
// the frames running jobs wait for (a write's data, credit, a cancel).
// Runs in a thread of the Node process (host paths) or as the whole life
// of a namespace worker.
#pragma once

namespace unshare_fs {

struct ServeOptions {
  // Mount and unmount requests: only a namespace of the library's own.
  bool allow_mount = false;
  // One set-root request: sessions (a session is rooted once, before use);
  // never the host server.
  bool allow_set_root = false;
  // Once the client is gone, how long to wait for jobs stuck in a syscall
  // before returning anyway (a worker then exits; the host server leaves
  // them to finish and close the socket).
  int exit_grace_ms = 1000;
};

// Serves until the peer closes the socket; then cancels every job, shuts
// the socket down and waits for the jobs for at most the grace.  The socket
// is closed by whichever thread of the server ends last.
void Serve(int fd, const ServeOptions& options);

}  // namespace unshare_fs
