// Text values by Specific Character Set (PS3.3 C.12.1.1.2, PS3.5 §6.1), and
// person names split into their groups and components (PS3.5 §6.2.1).

export type TextDecode = (bytes: Buffer) => string;

const latin1: TextDecode = (b) => b.toString('latin1');
const whatwg = (label: string): TextDecode => {
  const decoder = new TextDecoder(label);
  return (b) => decoder.decode(b);
};

/** Defined terms, without their "ISO 2022 " or "ISO_" prefix, to decoders Node ships. */
const SINGLE_SETS: Record<string, () => TextDecode> = {
  'IR 6': () => latin1,
  'IR 100': () => latin1,
  'IR 101': () => whatwg('iso-8859-2'),
  'IR 109': () => whatwg('iso-8859-3'),
  'IR 110': () => whatwg('iso-8859-4'),
  'IR 144': () => whatwg('iso-8859-5'),
  'IR 127': () => whatwg('iso-8859-6'),
  'IR 126': () => whatwg('iso-8859-7'),
  'IR 138': () => whatwg('iso-8859-8'),
  'IR 148': () => whatwg('iso-8859-9'),
  'IR 203': () => whatwg('iso-8859-15'),
  'IR 166': () => whatwg('windows-874'),
  'IR 13': () => whatwg('shift_jis'),
  'IR 192': () => whatwg('utf-8'),
  'IR 149': () => whatwg('euc-kr'),
  'IR 58': () => whatwg('gbk'),
  GB18030: () => whatwg('gb18030'),
  GBK: () => whatwg('gbk'),
};

/** JIS X 0208 / 0212 arrive as ISO 2022 escape-switched 7-bit text, which the iso-2022-jp decoder follows. */
const JAPANESE = new Set(['IR 87', 'IR 159']);
// biome-ignore lint/suspicious/noControlCharactersInRegex: ISO 2022 escape sequences begin with ESC; finding them is the point
const ESCAPE_SEQUENCE = /\x1b[\x20-\x2f]*[\x30-\x7e]/g;

const term = (value: string) => value.trim().replace(/^ISO[ _](2022 )?/, '');

/**
 * A decoder for the values of (0008,0005). No value, or an unknown one, reads
 * as Latin-1, which keeps every byte. With code extensions, the Japanese sets
 * decode through iso-2022-jp; otherwise escape sequences are dropped and the
 * last named set decodes the rest (enough for the one-extension cases used in
 * practice: Korean, simplified Chinese, a Latin-1 G1 set).
 */
export function textDecoder(specificCharacterSet: readonly string[]): TextDecode {
  const terms = specificCharacterSet.map(term).filter((t) => t !== '' && t !== 'IR 6');
  if (terms.some((t) => JAPANESE.has(t))) return whatwg('iso-2022-jp');
  const single = (SINGLE_SETS[terms.at(-1) ?? 'IR 6'] ?? SINGLE_SETS['IR 6']!)();
  if (specificCharacterSet.length <= 1) return single;
  return (b) => (b.includes(0x1b) ? single(Buffer.from(latin1(b).replace(ESCAPE_SEQUENCE, ''), 'latin1')) : single(b));
}

interface PersonNameComponents {
  family: string;
  given: string;
  middle: string;
  prefix: string;
  suffix: string;
}

export interface PersonName {
  alphabetic: PersonNameComponents;
  ideographic?: PersonNameComponents;
  phonetic?: PersonNameComponents;
}

const components = (group: string): PersonNameComponents => {
  const [family = '', given = '', middle = '', prefix = '', suffix = ''] = group.split('^').map((c) => c.trim());
  return { family, given, middle, prefix, suffix };
};

/** `family^given^middle^prefix^suffix`, with ideographic and phonetic groups after '='. */
export function parsePersonName(value: string): PersonName {
  const [alphabetic = '', ideographic, phonetic] = value.split('=');
  return {
    alphabetic: components(alphabetic),
    ...(ideographic ? { ideographic: components(ideographic) } : {}),
    ...(phonetic ? { phonetic: components(phonetic) } : {}),
  };
}
