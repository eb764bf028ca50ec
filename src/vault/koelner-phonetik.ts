// Kölner Phonetik (Postel 1969): a phonetic code for German surnames, so that
// "Quasstenberg", "Quastenberg" and "Kwastenberg" share a blind index.

const NORMALISE: Record<string, string> = { ä: 'a', ö: 'o', ü: 'u', ß: 's', é: 'e', è: 'e', à: 'a' };

/** `ch` is one of `set`; the empty string (before the first or after the last letter) is none. */
const among = (set: string, ch: string) => ch !== '' && set.includes(ch);

function codeOf(c: string, prev: string, next: string, initial: boolean): string {
  switch (c) {
    case 'a':
    case 'e':
    case 'i':
    case 'j':
    case 'o':
    case 'u':
    case 'y':
      return '0';
    case 'b':
      return '1';
    case 'p':
      return next === 'h' ? '3' : '1';
    case 'd':
    case 't':
      return among('csz', next) ? '8' : '2';
    case 'f':
    case 'v':
    case 'w':
      return '3';
    case 'g':
    case 'k':
    case 'q':
      return '4';
    case 'c':
      if (initial) return among('ahkloqrux', next) ? '4' : '8';
      return among('sz', prev) || !among('ahkoqux', next) ? '8' : '4';
    case 'x':
      return among('ckq', prev) ? '8' : '48';
    case 'l':
      return '5';
    case 'm':
    case 'n':
      return '6';
    case 'r':
      return '7';
    case 's':
    case 'z':
      return '8';
    default:
      return '';
  }
}

export function koelnerPhonetik(word: string): string {
  const s = [...word.toLowerCase()]
    .map((c) => NORMALISE[c] ?? c)
    .filter((c) => c >= 'a' && c <= 'z')
    .join('');
  let raw = '';
  for (let i = 0; i < s.length; i++) raw += codeOf(s[i]!, s[i - 1] ?? '', s[i + 1] ?? '', i === 0);
  // Collapse repeated codes, then drop all zeros but a leading one (H has no code).
  let collapsed = '';
  for (const d of raw) if (d !== collapsed.at(-1)) collapsed += d;
  return collapsed.length === 0 ? '' : collapsed[0] + collapsed.slice(1).replaceAll('0', '');
}
