// A reason is text a reviewer can judge: "aaaaaaaaaaaaaaaaaaaa" or "asdfasdfasdfasdfasdf"
// is twenty characters and no reason. Break-glass reasons, share purposes and the
// emergency search's reason must be at least `min` characters AND look like words:
// at least 3 words of two or more letters, or at least 8 different letters (one long
// German compound is a reason), and never one character or one short pattern repeated.
// It cannot tell a true reason from a made-up one; the review does that. Free of Node
// code: the web application checks the same before it sends.

export const MIN_REASON = 20;

/** Why `text` is not a reason: a field code and an English phrase for the problem detail; null when it is one. */
export interface ReasonProblem {
  code: 'reason-too-short' | 'reason-repeated' | 'reason-not-words';
  message: string;
  params?: { min: number };
}

export function reasonProblem(text: string, min = MIN_REASON): ReasonProblem | null {
  const t = text.trim().replace(/\s+/g, ' ');
  if (t.length < min) return { code: 'reason-too-short', message: `at least ${min} characters`, params: { min } };
  const letters = t.toLowerCase().match(/\p{L}/gu) ?? [];
  const distinct = new Set(letters).size;
  const words = (t.match(/\p{L}{2,}/gu) ?? []).map((w) => w.toLowerCase()).filter((w) => !repeats(w));
  const distinctWords = new Set(words).size;
  if (repeats(t.toLowerCase().replace(/[^\p{L}\p{N}]/gu, '')) || distinct < 5)
    return { code: 'reason-repeated', message: 'must be real text, not one character or pattern repeated' };
  if (!((words.length >= 3 && distinctWords >= 3) || distinct >= 8))
    return { code: 'reason-not-words', message: 'must be real text: at least 3 words or 8 different letters' };
  return null;
}

/** The whole string is one unit repeated (and perhaps cut off): "abcabcab", "xxxx". */
function repeats(s: string): boolean {
  if (s.length < 2) return true;
  for (let unit = 1; unit <= s.length / 2; unit++) {
    let periodic = true;
    for (let i = unit; i < s.length; i++) {
      if (s[i] !== s[i - unit]) {
        periodic = false;
        break;
      }
    }
    if (periodic) return true;
  }
  return false;
}
