import { Port, Protocol } from '../../src';
import { inOrder } from '../support/messages';

const PATH = 'stack/SecurityGroup';

describe('Port', () => {
  test.each([
    ['SSH', Port.SSH, 22],
    ['HTTP', Port.HTTP, 80],
    ['HTTPS', Port.HTTPS, 443],
    ['JUPYTER', Port.JUPYTER, 8888],
    ['TENSORBOARD', Port.TENSORBOARD, 6006],
  ])('Port.%s is TCP %i', (_name, port, number) => {
    expect(port).toMatchObject({ protocol: Protocol.TCP, fromPort: number, toPort: number });
    expect(String(port)).toBe(`tcp/${number}`);
  });

  test('tcp, udp and their ranges', () => {
    expect(Port.tcp(8080)).toMatchObject({ protocol: 'tcp', fromPort: 8080, toPort: 8080 });
    expect(Port.udp(53)).toMatchObject({ protocol: 'udp', fromPort: 53, toPort: 53 });
    expect(Port.tcpRange(8000, 8100)).toMatchObject({ protocol: 'tcp', fromPort: 8000, toPort: 8100 });
    expect(Port.udpRange(60000, 61000)).toMatchObject({ protocol: 'udp', fromPort: 60000, toPort: 61000 });
    expect(String(Port.udp(53))).toBe('udp/53');
    expect(String(Port.tcpRange(8000, 8100))).toBe('tcp/8000-8100');
    expect(String(Port.tcpRange(9000, 9000))).toBe('tcp/9000');
  });

  test.each([
    ['1', Port.tcp(1)], ['65535', Port.udp(65535)], ['1-65535', Port.tcpRange(1, 65535)], ['equal ends', Port.udpRange(7, 7)],
  ])('%s is valid', (_name, port) => {
    expect(() => port._validate(PATH)).not.toThrow();
  });

  test.each([
    ['70000', Port.tcp(70000), '70000-70000'],
    ['0', Port.udp(0), '0-0'],
    ['-1', Port.tcp(-1), '-1--1'],
    ['1.5', Port.tcp(1.5), '1.5-1.5'],
    ['NaN', Port.tcp(NaN), 'NaN-NaN'],
    ['a range ending above 65535', Port.tcpRange(60000, 70000), '60000-70000'],
    ['a range lowest last', Port.udpRange(9000, 8000), '9000-8000'],
  ])('%s is refused with path, range and the rule', (_name, port, range) => {
    expect(() => port._validate(PATH)).toThrow(
      inOrder(`${PATH}: port range ${range} is invalid`, 'whole numbers from 1 to 65535, lowest first'));
  });
});
