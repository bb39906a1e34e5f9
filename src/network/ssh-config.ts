import { Token } from 'cdktf';

/** One `Host` block for `~/.ssh/config`, ending in a blank line. */
export interface SshHost {
  readonly name: string;
  readonly address: string;
  readonly user: string;
  readonly identityFile?: string;
  /** Reach this host through another one (`ProxyJump`). */
  readonly jumpHost?: string;
}

/** `Host` blocks for `~/.ssh/config`, one per host. */
export function sshConfig(hosts: SshHost[]): string {
  return hosts.map((h) => [
    `Host ${h.name}`,
    `  HostName ${h.address}`,
    `  User ${h.user}`,
    ...(h.identityFile ? [`  IdentityFile ${h.identityFile}`] : []),
    ...(h.jumpHost ? [`  ProxyJump ${h.jumpHost}`] : []),
    '',
  ].join('\n')).join('\n');
}

/**
 * An ssh jump host as `-J` and `ProxyJump` take it: `[user@]host[:port]`, no spaces or quotes (it is
 * written into a command line and an ssh config); a token (an address of another node) passes.
 */
export function checkProxyJump(path: string, prop: string, jump: string | undefined): string | undefined {
  if (jump === undefined || Token.isUnresolved(jump)) return jump;
  if (!/^([\w.-]+@)?[\w.:\[\]-]+$/.test(jump)) {
    throw new Error(`${path}: ${prop} must be [user@]host[:port] as ssh -J takes it, got '${jump}'; e.g. 'ubuntu@203.0.113.10'`);
  }
  return jump;
}
