// Issue 17: the office's and departments' letter templates, edited by an administrator — a placeholder until its screen lands.
export function TemplatesAdmin() {
  return null;
}
