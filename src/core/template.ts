// The one escaping rule for every user string the library writes into Terraform: resource and data
// source arguments, descriptions, outputs and their descriptions, output map keys, locals (user_data),
// precondition and postcondition messages, provisioner environments. Terraform reads every JSON string
// (and every object key of an expression) as a template, so a `${...}` or `%{...}` a user typed would
// be evaluated: `${file("/etc/passwd")}` in a name would read a file on the deploying machine.
// Strings that mix user text with the library's own references escape the user parts only.

/** cdktf's marker of a token in a string (`${TfToken[TOKEN.1]}`); it becomes a real reference at synth. */
const TOKEN_MARKER = /\$\{(?!TfToken\[)/g;

/** Escapes Terraform template syntax in a user string (`${` -> `$${`, `%{` -> `%%{`), keeping cdktf's own tokens intact. */
export function tfLiteral(text: string): string;
export function tfLiteral(text: string | undefined): string | undefined;
export function tfLiteral(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  return text.replace(TOKEN_MARKER, () => '$${').replace(/%\{/g, () => '%%{');
}

/** `tfLiteral` on every value of a map. */
export function tfLiteralMap(map: { [key: string]: string }): { [key: string]: string } {
  return Object.fromEntries(Object.entries(map).map(([k, v]) => [k, tfLiteral(v)]));
}
