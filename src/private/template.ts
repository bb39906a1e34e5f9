/** Escapes Terraform's template syntax, as scripts use `${VAR}` and `%{...}` for themselves. */
export function escapeTemplate(text: string): string {
  return text.replace(/\$\{/g, () => '$${').replace(/%\{/g, () => '%%{');
}
