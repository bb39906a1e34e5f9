// Address and CIDR parsing, strict like Go's net.ParseIP/ParseCIDR that the provider uses.

/** The IPv4 address as a number, or undefined. Leading zeros are refused (Go refuses them too). */
export function parseIpv4(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4 || parts.some((p) => !/^(0|[1-9]\d{0,2})$/.test(p) || Number(p) > 255)) return undefined;
  return parts.reduce((acc, p) => acc * 256 + Number(p), 0);
}

/** The IPv6 address as a BigInt, or undefined; the last 32 bits may be written as IPv4 (`::ffff:10.0.0.0`). */
export function parseIpv6(text: string): bigint | undefined {
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groups = halves.map((h) => (h === '' ? [] : h.split(':')));
  const tail = groups[groups.length - 1];
  if (tail.length > 0 && tail[tail.length - 1].includes('.')) {
    const v4 = parseIpv4(tail[tail.length - 1]);
    if (v4 === undefined) return undefined;
    tail.splice(tail.length - 1, 1, (v4 >>> 16).toString(16), (v4 & 0xffff).toString(16));
  }
  if (groups.flat().some((g) => !/^[0-9a-fA-F]{1,4}$/.test(g))) return undefined;
  const count = groups.flat().length;
  if (halves.length === 1 ? count !== 8 : count > 7) return undefined;
  const full = halves.length === 1 ? groups[0] : [...groups[0], ...Array(8 - count).fill('0'), ...groups[1]];
  return full.reduce((acc, g) => (acc << 16n) + BigInt(parseInt(g, 16)), 0n);
}

/**
 * Whether `cidr` is a CIDR block of the family with its host bits zero
 * (Neutron stores the normalized form, and the plan would never settle otherwise).
 */
export function isCidr(cidr: string, family: 4 | 6): boolean {
  const [address, prefixText, ...rest] = cidr.split('/');
  const bits = family === 4 ? 32 : 128;
  if (rest.length > 0 || prefixText === undefined || !/^(0|[1-9]\d{0,2})$/.test(prefixText) || Number(prefixText) > bits) return false;
  const hostBits = BigInt(bits - Number(prefixText));
  const value = family === 4 ? (parseIpv4(address) === undefined ? undefined : BigInt(parseIpv4(address)!)) : parseIpv6(address);
  return value !== undefined && value % (1n << hostBits) === 0n;
}

/** Whether `text` is an IPv4 or IPv6 address. */
export function isIpAddress(text: string): boolean {
  return parseIpv4(text) !== undefined || parseIpv6(text) !== undefined;
}

/**
 * The IPv6 address in its normal form (RFC 5952: lower case, no leading zeros, the longest run of two or
 * more zero groups as '::'); an IPv4-mapped address (::ffff:0:0/96) with its IPv4 part in dotted form,
 * as Neutron (netaddr) writes it.
 */
export function formatIpv6(value: bigint): string {
  const groups = Array.from({ length: 8 }, (_, i) => Number((value >> BigInt(112 - 16 * i)) & 0xffffn));
  if (value >> 32n === 0xffffn) {
    const v4 = Number(value & 0xffffffffn);
    return `::ffff:${[v4 >>> 24, (v4 >>> 16) & 255, (v4 >>> 8) & 255, v4 & 255].join('.')}`;
  }
  let best = -1;
  let bestLength = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) { best = i; bestLength = j - i; }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLength).join(':')}`;
}

/** The CIDR block in the normal form Neutron stores, or undefined when it is not one of the family. */
export function normalCidr(cidr: string, family: 4 | 6): string | undefined {
  if (!isCidr(cidr, family)) return undefined;
  const [address, prefix] = cidr.split('/');
  return family === 4 ? cidr : `${formatIpv6(parseIpv6(address)!)}/${prefix}`;
}

/** Whether the address `ip` lies in the block `cidr` (both of one family). */
export function cidrContains(cidr: string, ip: string): boolean {
  const [base, prefixText] = cidr.split('/');
  const v4 = parseIpv4(base) !== undefined;
  const bits = v4 ? 32 : 128;
  const value = (text: string) => (v4 ? (parseIpv4(text) === undefined ? undefined : BigInt(parseIpv4(text)!)) : parseIpv6(text));
  const network = value(base);
  const address = value(ip);
  if (network === undefined || address === undefined) return false;
  const hostBits = BigInt(bits - Number(prefixText));
  return address >> hostBits === network >> hostBits;
}
