// Address and CIDR parsing, strict like Go's net.ParseIP/ParseCIDR that the provider uses.

/** The IPv4 address as a number, or undefined. Leading zeros are refused (Go refuses them too). */
export function parseIpv4(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4 || parts.some((p) => !/^(0|[1-9]\d{0,2})$/.test(p) || Number(p) > 255)) return undefined;
  return parts.reduce((acc, p) => acc * 256 + Number(p), 0);
}

/** The IPv6 address as a BigInt, or undefined. */
export function parseIpv6(text: string): bigint | undefined {
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groups = halves.map((h) => (h === '' ? [] : h.split(':')));
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
