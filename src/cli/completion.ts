// Shell completion for bash and zsh, generated from the command tree itself so it never drifts from
// the CLI: subcommands and options per command path. zsh runs the same function via bashcompinit.
import type { Command } from 'commander';

function table(program: Command): { subs: Map<string, string[]>; opts: Map<string, string[]> } {
  const subs = new Map<string, string[]>();
  const opts = new Map<string, string[]>();
  const walk = (cmd: Command, path: string) => {
    const children = cmd.commands.map((c) => c.name());
    if (children.length) subs.set(path, children);
    opts.set(path, [...cmd.options.flatMap((o) => [o.long, o.short].filter((x): x is string => Boolean(x))), '--help']);
    for (const c of cmd.commands) walk(c, `${path} ${c.name()}`);
  };
  // bash refuses an empty subscript: the root is keyed by the program name.
  walk(program, program.name());
  return { subs, opts };
}

// Keys and words are command names and flags (letters, digits, dashes): nothing to quote in them.
const assoc = (name: string, m: Map<string, string[]>) =>
  `  ${name}=(\n${[...m].map(([k, v]) => `    ["${k}"]="${v.join(' ')}"`).join('\n')}\n  )`;

export function completionScript(shell: 'bash' | 'zsh', program: Command): string {
  const { subs, opts } = table(program);
  const fn = `_tether_complete() {
  local -A subs opts
${assoc('subs', subs)}
${assoc('opts', opts)}
  local cur="\${COMP_WORDS[COMP_CWORD]}" node="${program.name()}" w i
  # The deepest command path the words so far name; arguments and option values are skipped.
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    [[ " \${subs[$node]} " == *" $w "* ]] && node="$node $w"
  done
  if [[ "$cur" == -* ]]; then
    COMPREPLY=($(compgen -W "\${opts[$node]}" -- "$cur"))
  else
    COMPREPLY=($(compgen -W "\${subs[$node]}" -- "$cur"))
  fi
}`;
  if (shell === 'bash')
    return `# tether completion for bash: source <(tether completion bash)\n${fn}\ncomplete -o default -F _tether_complete tether\n`;
  return `# tether completion for zsh: source <(tether completion zsh)\nautoload -U +X bashcompinit && bashcompinit\n${fn}\ncomplete -o default -F _tether_complete tether\n`;
}
