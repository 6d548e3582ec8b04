// /proc/<pid>/mountinfo, parsed (see proc(5)).

/** One line of /proc/PID/mountinfo, as FileSystem#mounts gives it. */
export interface MountInfo {
  /** The mount's id. */
  mountId: number;
  /** Its parent mount's id. */
  parentId: number;
  /** major:minor of the mounted device. */
  device: string;
  /** The directory of the mounted filesystem that forms this mount's root. */
  root: string;
  /** Where it is mounted, as the session sees it. */
  mountPoint: string;
  /** Per-mount options (ro, nosuid ...). */
  mountOptions: string[];
  /** The filesystem type: overlay, tmpfs, ext4 ... */
  fsType: string;
  /** What is mounted (a device, 'overlay', 'tmpfs'). */
  source: string;
  /** Per-superblock options (an overlay's lowerdir= ...). */
  superOptions: string[];
  /** For overlay mounts: the layers, as the kernel reports them. */
  overlay?: {
    /** Its lower layers, top first. */
    lowerDirs: string[];
    /** Its upper layer, for a writable overlay. */
    upperDir?: string;
    /** Its work dir, for a writable overlay. */
    workDir?: string;
  };
}

// mountinfo escapes space, tab, newline and backslash as octal.
function unescape(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

/** Splits overlay options on commas, honouring backslash escapes. */
function splitOptions(text: string): string[] {
  const options: string[] = [];
  let current = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '\\' && i + 1 < text.length) {
      current += c + text[++i];
    } else if (c === ',') {
      options.push(current);
      current = '';
    } else current += c;
  }
  options.push(current);
  return options;
}

function overlayLayers(options: string[]): MountInfo['overlay'] {
  const layers: NonNullable<MountInfo['overlay']> = { lowerDirs: [] };
  for (const option of options) {
    const eq = option.indexOf('=');
    if (eq < 0) continue;
    const key = option.slice(0, eq);
    const value = option.slice(eq + 1);
    if (key === 'lowerdir') {
      // Layers are colon-separated; a colon inside a path is escaped.
      layers.lowerDirs.push(...value.split(/(?<!\\):/).map((dir) => dir.replace(/\\(.)/g, '$1')));
    } else if (key === 'lowerdir+') {
      layers.lowerDirs.push(value);
    } else if (key === 'upperdir') layers.upperDir = value;
    else if (key === 'workdir') layers.workDir = value;
  }
  return layers;
}

export function parseMountInfo(text: string): MountInfo[] {
  const mounts: MountInfo[] = [];
  for (const line of text.split('\n')) {
    if (line.length === 0) continue;
    const fields = line.split(' ');
    const separator = fields.indexOf('-', 6);
    if (separator < 0 || fields.length < separator + 4) continue;
    // Every index below is in range: the separator was looked for from
    // index 6 (six fields before it) and three fields follow it.
    const fsType = unescape(fields[separator + 1]!);
    const superOptions = splitOptions(unescape(fields[separator + 3]!));
    const mount: MountInfo = {
      mountId: Number(fields[0]),
      parentId: Number(fields[1]),
      device: fields[2]!,
      root: unescape(fields[3]!),
      mountPoint: unescape(fields[4]!),
      mountOptions: fields[5]!.split(','),
      fsType,
      source: unescape(fields[separator + 2]!),
      superOptions,
    };
    if (fsType === 'overlay') mount.overlay = overlayLayers(superOptions);
    mounts.push(mount);
  }
  return mounts;
}
