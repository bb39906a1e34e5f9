import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { TerraformStack, TerraformVariable, Testing, Token } from 'cdktf';
import { KeyPair, KeyPairProps, openstack } from '../../src';
import { expectStackPassesChecks, synthToDir } from '../support/checks';
import { inOrder } from '../support/messages';

const KEYPAIR = 'openstack_compute_keypair_v2';

/** An SSH wire-format string: 4-byte length, then the bytes. */
function sshString(data: Buffer | string): Buffer {
  const bytes = Buffer.from(data);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  return Buffer.concat([length, bytes]);
}

/** The base64 body of an OpenSSH public key whose data starts with `embeddedType`. */
function keyBody(embeddedType: string, ...fields: Buffer[]): string {
  return Buffer.concat([sshString(embeddedType), ...fields.map(sshString)]).toString('base64');
}

/** A real ed25519 public key line, as `ssh-keygen` writes it into a .pub file. */
function ed25519PublicKey(comment = 'alice@laptop'): string {
  const jwk = crypto.generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' });
  return `ssh-ed25519 ${keyBody('ssh-ed25519', Buffer.from(jwk.x!, 'base64url'))} ${comment}`;
}

/** A real RSA public key line. */
function rsaPublicKey(): string {
  const jwk = crypto.generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'jwk' });
  return `ssh-rsa ${keyBody('ssh-rsa', Buffer.from(jwk.e!, 'base64url'), Buffer.from(jwk.n!, 'base64url'))} bob@desk`;
}

const PUBLIC_KEY = ed25519PublicKey();
const PRIVATE_KEY_BODY = 'b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW';
const PRIVATE_KEY = `-----BEGIN OPENSSH PRIVATE KEY-----\n${PRIVATE_KEY_BODY}\n-----END OPENSSH PRIVATE KEY-----\n`;

/** A temporary directory with `files` in it, removed after the test file. */
const tempDirs: string[] = [];
function tempFiles(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'key-pair-test-'));
  tempDirs.push(dir);
  for (const [name, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), content);
  }
  return dir;
}
afterAll(() => {
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
});

/** A stack `test` with one KeyPair `key`: the stack JSON, the key pair and its resource. */
function synthKey(props?: KeyPairProps) {
  const stack = new TerraformStack(Testing.app(), 'test');
  const keyPair = new KeyPair(stack, 'key', props);
  const json = JSON.parse(Testing.synth(stack));
  const entries = Object.entries<any>(json.resource[KEYPAIR]);
  expect(entries).toHaveLength(1);
  const [resourceId, resource] = entries[0];
  return { json, keyPair, resourceId, resource };
}

/** Builds a KeyPair `key` in a fresh stack `test`, to test what it throws. */
function build(props: KeyPairProps): () => void {
  return () => new KeyPair(new TerraformStack(Testing.app(), 'test'), 'key', props);
}

const FIX_HINT = "give the one-line contents of a .pub file, e.g. 'ssh-ed25519 AAAAC3... you@host'";

describe('an imported key', () => {
  test('from a string: the resource holds the key, trimmed, and nothing is output', () => {
    const { json, keyPair, resource } = synthKey({ publicKey: `  ${PUBLIC_KEY}\n` });
    expect(resource).toEqual({ name: 'test-key', public_key: PUBLIC_KEY });
    expect(json.output).toBeUndefined();
    expect(keyPair.generated).toBe(false);
    expect(keyPair.privateKeyOutput).toBeUndefined();
    // A reference to the resource's name, so that servers (also in other stacks) depend on it.
    expect(Token.isUnresolved(keyPair.keyPairName)).toBe(true); // gpu-node.test.ts checks the synthesized reference
    expect(keyPair.privateKeyHint).toBe('<your private key>');
  });

  test('an RSA key and a key without comment are accepted too', () => {
    const rsa = rsaPublicKey();
    expect(synthKey({ publicKey: rsa }).resource.public_key).toBe(rsa);
    const bare = PUBLIC_KEY.split(' ').slice(0, 2).join(' ');
    expect(synthKey({ publicKey: bare }).resource.public_key).toBe(bare);
  });

  test('from a .pub file: the key is read and the hint is the file without .pub', () => {
    const dir = tempFiles({ 'id_ed25519.pub': `${PUBLIC_KEY}\n` });
    const file = path.join(dir, 'id_ed25519.pub');
    const { resource, keyPair } = synthKey({ publicKeyFile: file, keyPairName: 'alice-laptop' });
    expect(resource).toEqual({ name: 'alice-laptop', public_key: PUBLIC_KEY });
    expect(keyPair.privateKeyHint).toBe(path.join(dir, 'id_ed25519'));
    expect(keyPair.generated).toBe(false);
  });

  test('a leading ~ in publicKeyFile is the home directory', () => {
    const home = tempFiles({ '.ssh/id_ed25519.pub': PUBLIC_KEY });
    // The construct and this test share Node's own os module; jest's process.env copy would not reach it.
    const homedir = jest.spyOn(jest.requireActual<typeof os>('os'), 'homedir').mockReturnValue(home);
    try {
      const { resource, keyPair } = synthKey({ publicKeyFile: '~/.ssh/id_ed25519.pub' });
      expect(homedir).toHaveBeenCalled();
      expect(resource.public_key).toBe(PUBLIC_KEY);
      expect(keyPair.privateKeyHint).toBe('~/.ssh/id_ed25519');
    } finally {
      homedir.mockRestore();
    }
  });

  test('a home directory the shell expanded is shown as ~ in the ssh hint', () => {
    const home = tempFiles({ '.ssh/id_ed25519.pub': PUBLIC_KEY });
    const homedir = jest.spyOn(jest.requireActual<typeof os>('os'), 'homedir').mockReturnValue(home);
    try {
      expect(synthKey({ publicKeyFile: `${home}/.ssh/id_ed25519.pub` }).keyPair.privateKeyHint).toBe('~/.ssh/id_ed25519');
    } finally {
      homedir.mockRestore();
    }
  });

  test('a given privateKeyHint wins', () => {
    const dir = tempFiles({ 'k.pub': PUBLIC_KEY });
    expect(synthKey({ publicKeyFile: path.join(dir, 'k.pub'), privateKeyHint: '~/keys/lab' }).keyPair.privateKeyHint).toBe('~/keys/lab');
  });

  test('a key from a Terraform variable is passed through unchecked', () => {
    const stack = new TerraformStack(Testing.app(), 'test');
    const variable = new TerraformVariable(stack, 'ssh_key', { type: 'string' });
    new KeyPair(stack, 'key', { publicKey: variable.stringValue });
    const [resource] = Object.values<any>(JSON.parse(Testing.synth(stack)).resource[KEYPAIR]);
    expect(resource.public_key).toBe('${var.ssh_key}');
  });
});

describe('a generated key', () => {
  test('has no public key, and its private key is only in a sensitive output', () => {
    const { json, keyPair, resourceId, resource } = synthKey();
    expect(resource).toEqual({ name: 'test-key' });
    expect(keyPair.generated).toBe(true);
    expect(keyPair.privateKeyHint).toBe('~/.ssh/test-key.pem');
    const outputs = Object.values<any>(json.output);
    expect(outputs).toHaveLength(1);
    expect(outputs[0]).toEqual({
      value: `\${${KEYPAIR}.${resourceId}.private_key}`,
      sensitive: true,
      description: 'Private key of test-key; save it with mode 0600 to ~/.ssh/test-key.pem',
    });
    expect(keyPair.privateKeyOutput).toBeDefined();
  });

  test('the name and hint can be given', () => {
    const { json, resource, keyPair } = synthKey({ keyPairName: 'lab-key', privateKeyHint: '~/lab.pem' });
    expect(resource.name).toBe('lab-key');
    expect(keyPair.privateKeyHint).toBe('~/lab.pem');
    expect(Object.values<any>(json.output)[0].description).toContain('~/lab.pem');
  });

  test('passes the provider schema check and an offline terraform plan, beside an imported key', () => {
    const { dir, json } = synthToDir((app) => {
      const stack = new TerraformStack(app, 'key-checks');
      new openstack.provider.OpenstackProvider(stack, 'openstack', { cloud: 'openstack' });
      new KeyPair(stack, 'generated');
      new KeyPair(stack, 'imported', { publicKey: PUBLIC_KEY });
      return stack;
    });
    expect(Object.keys(json.resource[KEYPAIR])).toHaveLength(2);
    expectStackPassesChecks(dir);
  });
});

describe('KeyPair.fromName', () => {
  test('refers to an existing key pair, with a default or given hint, and creates nothing', () => {
    const stack = new TerraformStack(Testing.app(), 'test');
    const plain = KeyPair.fromName(stack, 'Alice', 'alice');
    const hinted = KeyPair.fromName(stack, 'AliceHinted', 'alice', { privateKeyHint: '~/.ssh/id_ed25519' });
    expect([plain.keyPairName, plain.privateKeyHint]).toEqual(['alice', '<your private key>']);
    expect([hinted.keyPairName, hinted.privateKeyHint]).toEqual(['alice', '~/.ssh/id_ed25519']);
    // An import is a construct like the other imports: its id is taken in the scope.
    expect(() => KeyPair.fromName(stack, 'Alice', 'bob')).toThrow(/^test\/Alice: the id 'Alice' is already used in test by another construct \(ExistingKeyPair\); give each construct its own id$/);
    expect(JSON.parse(Testing.synth(stack)).resource).toBeUndefined();
  });

  test.each([
    ['a name with a slash', 'alice/laptop'],
    ['an empty name', ''],
    ['a name with a trailing space', 'alice '],
  ])('refuses %s, naming the path and the value', (_, name) => {
    const stack = new TerraformStack(Testing.app(), 'test');
    expect(() => KeyPair.fromName(stack, 'Key', name)).toThrow(`test/Key: keyPairName must be 1-255 letters, digits, spaces, '_', '-', '.' or '@' without leading or trailing spaces, got '${name}'`);
  });

  test('refuses an unknown option, as every props check does', () => {
    const stack = new TerraformStack(Testing.app(), 'test');
    expect(() => KeyPair.fromName(stack, 'Key', 'alice', { privateKeyFile: '~/.ssh/id' } as any)).toThrow(/test\/Key: .*privateKeyFile/);
  });

  test('passes a token through for Nova to check', () => {
    const stack = new TerraformStack(Testing.app(), 'test');
    const name = new TerraformVariable(stack, 'KeyName', { type: 'string' }).stringValue;
    expect(KeyPair.fromName(stack, 'Key', name).keyPairName).toBe(name);
  });
});

describe('bad input', () => {
  test('a key that is not OpenSSH names the path, the start of the key and the fix', () => {
    const pem = '-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n-----END PUBLIC KEY-----';
    expect(build({ publicKey: pem })).toThrow(
      inOrder('test/key: publicKey is not an OpenSSH public key', "(got '-----BEGIN PUBLIC KEY-----", "...')", FIX_HINT));
  });

  test.each([
    ['an unknown type', 'ssh-foo AAAAC3NzaC1lZDI1NTE5AAAAI alice'],
    ['no key data', 'ssh-ed25519'],
    ['non-base64 data', 'ssh-ed25519 not*base64 alice'],
    ['an empty string', ''],
  ])('a key with %s is not OpenSSH', (_why, key) => {
    expect(build({ publicKey: key })).toThrow(inOrder('test/key: publicKey is not an OpenSSH public key', `(got '${key}')`, FIX_HINT));
  });

  test('a private key pasted as public key is refused without echoing it', () => {
    let message = '';
    try {
      build({ publicKey: PRIVATE_KEY })();
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(inOrder('test/key: publicKey is a PRIVATE key', 'never put it in code', FIX_HINT, 'ssh-keygen -t ed25519'));
    expect(message).not.toContain(PRIVATE_KEY_BODY.slice(0, 20));
  });

  test('a key whose type and data disagree names both types', () => {
    const body = PUBLIC_KEY.split(' ')[1];
    expect(build({ publicKey: `ssh-rsa ${body} alice@laptop` })).toThrow(
      inOrder('test/key', "publicKey says 'ssh-rsa' but its data is 'ssh-ed25519'", FIX_HINT));
  });

  test('a cut-off key is called damaged', () => {
    expect(build({ publicKey: 'ssh-ed25519 AAAA alice' })).toThrow(
      inOrder('test/key', "publicKey says 'ssh-ed25519' but its data is damaged", FIX_HINT));
    expect(build({ publicKey: `ssh-ed25519 ${keyBody('ssh-ed25519').slice(0, 12)} alice` })).toThrow(/its data is damaged/);
  });

  test('two keys (an authorized_keys file) name the path and ask for one key', () => {
    expect(build({ publicKey: `${PUBLIC_KEY}\n${rsaPublicKey()}` })).toThrow(
      inOrder('test/key: publicKey has several lines (an authorized_keys file?)', 'a keypair holds one key', FIX_HINT));
  });

  test('a missing public key file names the path, the file and how to make a key', () => {
    const file = path.join(os.tmpdir(), 'key-pair-test-missing', 'id_ed25519.pub');
    expect(build({ publicKeyFile: file })).toThrow(
      inOrder('test/key', `publicKeyFile '${file}' does not exist`, "'ssh-keygen -t ed25519'", 'give the key itself as publicKey'));
  });

  test('a private key file instead of the .pub names the path, the file and the fix', () => {
    const file = path.join(tempFiles({ id_ed25519: PRIVATE_KEY }), 'id_ed25519');
    expect(build({ publicKeyFile: file })).toThrow(inOrder('test/key', `publicKeyFile '${file}' holds a private key`, 'point it at the .pub file'));
  });

  test('a .pub file that holds a private key is refused as a private key', () => {
    const file = path.join(tempFiles({ 'id.pub': PRIVATE_KEY }), 'id.pub');
    expect(build({ publicKeyFile: file })).toThrow(inOrder('test/key', 'publicKey is a PRIVATE key', FIX_HINT));
  });

  test('a file with something else names the path and the start of the content', () => {
    const file = path.join(tempFiles({ 'notes.pub': 'my key is on the other laptop' }), 'notes.pub');
    expect(build({ publicKeyFile: file })).toThrow(inOrder('test/key', "(got 'my key is on the other laptop')", FIX_HINT));
  });

  test('publicKey and publicKeyFile together are refused with the path and the fix', () => {
    expect(build({ publicKey: PUBLIC_KEY, publicKeyFile: '/nonexistent.pub' })).toThrow(
      /^test\/key: give publicKey or publicKeyFile, not both$/);
  });

  test.each([['a trailing space', 'alice ', 'alice '], ['empty', '', ''], ['a newline', 'a\nb', 'a\\u000ab']])('a key pair name with %s names the path and the value', (_why, name, shown) => {
    expect(build({ keyPairName: name })).toThrow(
      inOrder('test/key: keyPairName must be 1-255 printable characters without leading or trailing spaces', `got '${shown}'`));
  });
});
