import { Token } from 'cdktf';

/** An IP protocol for security group rules. */
export enum Protocol {
  /** TCP. */
  TCP = 'tcp',
  /** UDP. */
  UDP = 'udp',
}

/** A port or port range that a security group opens. */
export class Port {
  /** SSH, TCP 22. */
  public static readonly SSH = Port.tcp(22);
  /** HTTP, TCP 80. */
  public static readonly HTTP = Port.tcp(80);
  /** HTTPS, TCP 443. */
  public static readonly HTTPS = Port.tcp(443);
  /** Jupyter Notebook / JupyterLab. */
  public static readonly JUPYTER = Port.tcp(8888);
  /** TensorBoard. */
  public static readonly TENSORBOARD = Port.tcp(6006);

  /** One TCP port. */
  public static tcp(port: number): Port {
    return new Port(Protocol.TCP, port, port);
  }

  /** A range of TCP ports, both ends included. */
  public static tcpRange(fromPort: number, toPort: number): Port {
    return new Port(Protocol.TCP, fromPort, toPort);
  }

  /** One UDP port. */
  public static udp(port: number): Port {
    return new Port(Protocol.UDP, port, port);
  }

  /** A range of UDP ports, both ends included. */
  public static udpRange(fromPort: number, toPort: number): Port {
    return new Port(Protocol.UDP, fromPort, toPort);
  }

  private constructor(
    /** The IP protocol. */
    public readonly protocol: Protocol,
    /** The lowest port of the range. */
    public readonly fromPort: number,
    /** The highest port of the range (equal to `fromPort` for one port). */
    public readonly toPort: number,
  ) {}

  /**
   * Throws an error naming `path` when the port numbers are out of range; the security group that uses the port calls it.
   * @internal
   */
  public _validate(path: string): void {
    // Number tokens (variables) are checked by Neutron at apply.
    if (Token.isUnresolved(this.fromPort) || Token.isUnresolved(this.toPort)) return;
    const valid = (p: number) => Number.isInteger(p) && p >= 1 && p <= 65535;
    if (!valid(this.fromPort) || !valid(this.toPort) || this.fromPort > this.toPort) {
      throw new Error(`${path}: port range ${this.fromPort}-${this.toPort} is invalid; ports are whole numbers from 1 to 65535, lowest first`);
    }
  }

  /** The port as `tcp/22` or `udp/60000-61000`. */
  public toString(): string {
    const range = this.fromPort === this.toPort ? `${this.fromPort}` : `${this.fromPort}-${this.toPort}`;
    return `${this.protocol}/${range}`;
  }
}
