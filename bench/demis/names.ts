// Names for the DEMIS import benchmark (bench/demis/run.ts): common German surnames and given names,
// drawn with a Zipf-like weight so the frequent ones repeat as they do in an office's files, plus a
// long tail of composed surnames; and the ways a laboratory writes a known name differently
// (transliterated Müller → Mueller, a spelling that sounds alike: Meier → Maier, Schmidt → Schmitt).

const SURNAMES = [
  'Müller',
  'Schmidt',
  'Schneider',
  'Fischer',
  'Weber',
  'Meyer',
  'Wagner',
  'Becker',
  'Schulz',
  'Hoffmann',
  'Schäfer',
  'Koch',
  'Bauer',
  'Richter',
  'Klein',
  'Wolf',
  'Schröder',
  'Neumann',
  'Schwarz',
  'Zimmermann',
  'Braun',
  'Krüger',
  'Hofmann',
  'Hartmann',
  'Lange',
  'Schmitt',
  'Werner',
  'Schmitz',
  'Krause',
  'Meier',
  'Lehmann',
  'Schmid',
  'Schulze',
  'Maier',
  'Köhler',
  'Herrmann',
  'König',
  'Walter',
  'Mayer',
  'Huber',
  'Kaiser',
  'Fuchs',
  'Peters',
  'Lang',
  'Scholz',
  'Möller',
  'Weiß',
  'Jung',
  'Hahn',
  'Schubert',
  'Vogel',
  'Friedrich',
  'Keller',
  'Günther',
  'Frank',
  'Berger',
  'Winkler',
  'Roth',
  'Beck',
  'Lorenz',
  'Baumann',
  'Franke',
  'Albrecht',
  'Schuster',
  'Simon',
  'Ludwig',
  'Böhm',
  'Winter',
  'Kraus',
  'Martin',
  'Schumacher',
  'Krämer',
  'Vogt',
  'Stein',
  'Jäger',
  'Otto',
  'Sommer',
  'Groß',
  'Seidel',
  'Heinrich',
];

export const GIVEN_NAMES = [
  'Maria',
  'Ursula',
  'Monika',
  'Petra',
  'Elisabeth',
  'Sabine',
  'Renate',
  'Helga',
  'Karin',
  'Brigitte',
  'Ingrid',
  'Erika',
  'Andrea',
  'Gisela',
  'Claudia',
  'Susanne',
  'Gabriele',
  'Christa',
  'Christine',
  'Hannelore',
  'Anna',
  'Julia',
  'Sophie',
  'Lena',
  'Jürgen',
  'Thomas',
  'Peter',
  'Michael',
  'Andreas',
  'Hans',
  'Klaus',
  'Wolfgang',
  'Stefan',
  'Jörg',
  'Uwe',
  'Günter',
  'Frank',
  'Dieter',
  'Horst',
  'Bernd',
  'Manfred',
  'Werner',
  'Gerhard',
  'Lukas',
  'Jonas',
  'Leon',
  'Felix',
  'Maximilian',
  'Björn',
  'Sören',
  'Heike',
  'Birgit',
  'Martina',
  'Stefanie',
  'Nicole',
  'Katharina',
  'Laura',
  'Marie',
  'Emma',
  'Mia',
  'Hannah',
  'Lea',
  'Johanna',
  'Charlotte',
  'Greta',
  'Ilse',
  'Irmgard',
  'Gertrud',
  'Hildegard',
  'Ruth',
  'Jutta',
  'Doris',
  'Angelika',
  'Silke',
  'Anja',
  'Daniel',
  'Christian',
  'Markus',
  'Sebastian',
  'Tobias',
  'Florian',
  'Alexander',
  'Matthias',
  'Martin',
  'Ralf',
  'Heinz',
  'Karl',
  'Walter',
  'Helmut',
  'Rolf',
  'Paul',
  'Ben',
  'Noah',
  'Elias',
  'Finn',
  'Jan',
  'Tim',
  'Niklas',
  'Moritz',
  'Günther',
];

const PREFIXES = [
  'Brand',
  'Wein',
  'Stein',
  'Linden',
  'Rosen',
  'Eich',
  'Buch',
  'Hoch',
  'Grün',
  'Kirch',
  'Mühl',
  'Hass',
  'Stroh',
  'Wald',
  'Berg',
  'Feld',
  'Kalt',
  'Fried',
  'Lau',
  'Off',
];
const MIDDLES = ['', 'en', 'er', 'e', 's'];
const SUFFIXES = [
  'berger',
  'mann',
  'meier',
  'hauser',
  'müller',
  'feld',
  'bach',
  'ner',
  'reiter',
  'schläger',
  'brock',
  'hagen',
  'kamp',
  'rath',
  'stätter',
  'wald',
  'hof',
  'inger',
  'ke',
  'lein',
];

/** A small deterministic generator (mulberry32), so runs are comparable. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * An index into a list of n, the first ones most often (weight 1/√(i+1)): of 100 given names the
 * first is drawn 5 % of the time; of the 80 surnames (drawn for 40 % of persons) the first is
 * 2.4 % of all files. Real German frequencies are lower (Müller ≈ 0.9 %): repeats on the heavy side.
 */
function zipf(rnd: () => number, n: number): number {
  let h = 0;
  for (let i = 0; i < n; i++) h += 1 / Math.sqrt(i + 1);
  const target = rnd() * h;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    sum += 1 / Math.sqrt(i + 1);
    if (sum >= target) return i;
  }
  return n - 1;
}

const pick = <T>(rnd: () => number, xs: T[]) => xs[Math.floor(rnd() * xs.length)]!;

export interface NamedPerson {
  familyName: string;
  givenName: string;
  birthDate: string;
}

/** A person as an office's files hold them: 40 % a common surname, the rest a long tail of 2,000 composed ones (~30 files each at 100,000). */
export function somePerson(rnd: () => number): NamedPerson {
  const familyName =
    rnd() < 0.4
      ? SURNAMES[zipf(rnd, SURNAMES.length)]!
      : `${pick(rnd, PREFIXES)}${pick(rnd, MIDDLES)}${pick(rnd, SUFFIXES)}`;
  const givenName = GIVEN_NAMES[zipf(rnd, GIVEN_NAMES.length)]!;
  // Born 1930–2024: about 35,000 days, so a birth date repeats every few files at 100,000.
  const day = Math.floor(rnd() * 34_700);
  const birthDate = new Date(Date.UTC(1930, 0, 1) + day * 86_400_000).toISOString().slice(0, 10);
  return { familyName, givenName, birthDate };
}

/** How a laboratory without umlauts writes a name: Müller → Mueller, Groß → Gross. */
export function transliterated(name: string): string {
  return name
    .replace(/ä/g, 'ae')
    .replace(/ö/g, 'oe')
    .replace(/ü/g, 'ue')
    .replace(/Ä/g, 'Ae')
    .replace(/Ö/g, 'Oe')
    .replace(/Ü/g, 'Ue')
    .replace(/ß/g, 'ss');
}

/** A spelling that sounds the same (same Kölner Phonetik code) but is written otherwise. */
export function soundsAlike(name: string): string {
  const rules: [RegExp, string][] = [
    [/dt/, 'tt'],
    [/tt/, 'dt'],
    [/ei/, 'ai'],
    [/ai/, 'ei'],
    [/ey/, 'ei'],
    [/ay/, 'ai'],
    [/ck/, 'k'],
    [/mm/, 'm'],
    [/nn/, 'n'],
    [/ff/, 'f'],
    [/th/, 't'],
  ];
  for (const [re, to] of rules) if (re.test(name)) return name.replace(re, to);
  // No pair above: an `h` after the first vowel is silent to the phonetic code (Wagner → Wahgner).
  return name.replace(/([aeiouäöü])/i, '$1h');
}

export const hasUmlaut = (name: string) => /[äöüÄÖÜß]/.test(name);
