// The request loop: reads request frames from a stream socket and answers
// them.  Runs in a thread of the Node process (host paths) or as the whole
// life of a namespace worker.  Quick requests are answered inline; each walk
// runs in a thread of its own and sends at most its credit of batches ahead
// of the consumer.
#pragma once

namespace unshare_fs {

// Serves until the peer closes the socket; then cancels running walks,
// waits for them and closes `fd`.
void Serve(int fd);

}  // namespace unshare_fs
