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
