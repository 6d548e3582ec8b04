// unshare-fs completion bash: a bash completion script made from the
// program's own verbs and options (so a verb added later completes too),
// with container and volume names asked of `unshare-fs ps --json` and
// `unshare-fs volume ls --json` as the user types.
import type { Command } from 'commander';

/** What a verb's positional arguments complete to, in order; the last repeats. */
const KINDS: Record<string, string> = {
  ps: 'none',
  diff: 'container',
  export: 'container',
  chown: 'none target',
  chmod: 'none target',
  'volume ls': 'none',
  'volume inspect': 'volume',
  'volume rm': 'volume',
  'volume export': 'volume',
  'volume import': 'volume',
  completion: 'shell',
  help: 'verb',
};

/** The key of the program's own options and verbs (bash's associative arrays take no empty key). */
const TOP = 'unshare-fs';

/** `[key]="words"` for a bash associative array; keys and words are the program's own (no quotes in them). */
function entries(map: Map<string, string[]>): string {
  return [...map].map(([key, words]) => `[${JSON.stringify(key)}]=${JSON.stringify(words.join(' '))}`).join(' ');
}

/** The flags of an option as typed: '-o, --output <file>' gives -o and --output. */
function flagsOf(flags: string): string[] {
  return flags.split(/[ ,|]+/).filter((f) => f.startsWith('-'));
}

/** The bash script, for `source <(unshare-fs completion bash)` or a file in bash-completion's directory. */
export function bashCompletion(program: Command): string {
  const subs = new Map<string, string[]>();
  const opts = new Map<string, string[]>();
  const valued = new Map<string, string[]>();
  const kinds = new Map<string, string[]>();
  const visit = (cmd: Command, key: string): void => {
    const options = cmd.options.filter((o) => !o.hidden);
    opts.set(key, [...options.flatMap((o) => flagsOf(o.flags)), '--help']);
    valued.set(
      key,
      options.filter((o) => o.required || o.optional).flatMap((o) => flagsOf(o.flags)),
    );
    const children = cmd.commands.filter((c) => !(c as Command & { _hidden?: boolean })._hidden);
    if (children.length > 0) subs.set(key, [...children.map((c) => c.name()), ...(key === TOP ? ['help'] : [])]);
    kinds.set(key, (KINDS[key] ?? (cmd.registeredArguments.length > 0 ? 'target' : 'none')).split(' '));
    for (const child of children) visit(child, key === TOP ? child.name() : `${key} ${child.name()}`);
  };
  visit(program, TOP);
  opts.set('help', ['--help']);
  kinds.set('help', ['verb']);
  return `# bash completion for unshare-fs: source <(unshare-fs completion bash)
# Verbs, options, container names (unshare-fs ps --json), volume names
# (unshare-fs volume ls --json), and TARGETs: CONTAINER:, volume:NAME:,
# storage: and host files.

# The names of containers ($1 = ps) or volumes ($1 = volume), one a line.
_unshare_fs_names() {
  local cmd=\${COMP_WORDS[0]}
  if [[ $1 == ps ]]; then "$cmd" ps --json 2>/dev/null; else "$cmd" volume ls --json 2>/dev/null; fi |
    sed -n 's/^{"engine":"[a-z]*","name":"\\([A-Za-z0-9][A-Za-z0-9_.-]*\\)".*/\\1/p'
}

_unshare_fs() {
  local -A subs=(${entries(subs)})
  local -A opts=(${entries(opts)})
  local -A valued=(${entries(valued)})
  local -A kinds=(${entries(kinds)})
  local words=() cur line split=0
  if [[ -n \${COMP_LINE-} ]]; then
    # readline splits words at ':' too (COMP_WORDBREAKS): take them from the line, by blanks.
    line=\${COMP_LINE:0:\${COMP_POINT:-\${#COMP_LINE}}}
    read -ra words <<<"$line"
    [[ $line =~ [[:space:]]$ ]] && words+=('')
    split=1
  else
    words=("\${COMP_WORDS[@]:0:COMP_CWORD+1}")
  fi
  cur=\${words[\${#words[@]}-1]}
  local key=unshare-fs prev='' positional=0 i w
  for ((i = 1; i < \${#words[@]} - 1; i++)); do
    w=\${words[i]}
    if [[ $w == -* ]]; then
      [[ " \${valued[$key]} " == *" $w "* ]] && ((i++))
    elif ((positional == 0)) && [[ " \${subs[$key]-} " == *" $w "* ]]; then
      [[ $key == unshare-fs ]] && key=$w || key="$key $w"
    else
      ((positional++))
    fi
  done
  ((\${#words[@]} > 2)) && prev=\${words[\${#words[@]}-2]}
  local reply=()
  if [[ -n $prev && $prev == -* && " \${valued[$key]} " == *" $prev "* ]]; then
    case $prev in
      --engine) reply=(podman docker) ;;
      -o | --output | -i | --input) mapfile -t reply < <(compgen -f -- "$cur") ;;
    esac
  elif [[ $cur == -* ]]; then
    reply=(\${opts[$key]})
  elif ((positional == 0)) && [[ -n \${subs[$key]-} ]]; then
    reply=(\${subs[$key]})
  else
    local list=(\${kinds[$key]-none}) kind
    kind=\${list[positional < \${#list[@]} ? positional : \${#list[@]} - 1]}
    case $kind in
      verb) reply=(\${subs[unshare-fs]}) ;;
      shell) reply=(bash) ;;
      container) mapfile -t reply < <(_unshare_fs_names ps) ;;
      volume) mapfile -t reply < <(_unshare_fs_names volume) ;;
      target)
        if [[ $cur == volume:* ]]; then
          mapfile -t reply < <(_unshare_fs_names volume | sed 's/^/volume:/; s/$/:/')
        elif [[ $cur == storage:/* ]]; then
          mapfile -t reply < <(compgen -f -- "\${cur#storage:}" | sed 's/^/storage:/')
        elif [[ $cur != *:* ]]; then
          mapfile -t reply < <(_unshare_fs_names ps | sed 's/$/:/'; echo volume:; echo storage:; compgen -f -- "$cur")
        fi
        ;;
    esac
  fi
  mapfile -t COMPREPLY < <(compgen -W "\${reply[*]}" -- "$cur")
  if ((split)) && [[ $cur == *:* && $COMP_WORDBREAKS == *:* ]]; then
    # What readline replaces is the part after the last ':'.
    local i=\${#COMPREPLY[@]} pre=\${cur%"\${cur##*:}"}
    while ((i-- > 0)); do COMPREPLY[i]=\${COMPREPLY[i]#"$pre"}; done
  fi
  [[ \${COMPREPLY[0]-} == *: ]] && compopt -o nospace 2>/dev/null
  return 0
}
complete -F _unshare_fs unshare-fs
`;
}
