// Issue 19: s23-german-cli — what the production start (src/ops/launch.ts) says about the memory
// allocator, in the operator's language: its warnings, written before `kartei` runs (bin/kartei.js, so
// light: nothing imported), and the allocator line of `kartei serve` and `kartei doctor`. English is
// the start's own words; German is said from the code. A code without German words is said in English.
import type { LaunchWords } from '../ops/launch.ts';

const DE: Record<string, string> = {
  'allocator-unknown':
    'KARTEI_ALLOCATOR={requested} nennt keinen Speicher-Allokator ({allocators}); Kartei verwendet {allocator}. Bitte KARTEI_ALLOCATOR berichtigen oder entfernen.',
  'jemalloc-absent':
    'KARTEI_ALLOCATOR=jemalloc, aber {library} fehlt (Debian: apt install libjemalloc2); Kartei verwendet {allocator}.',
  'start-not-applied': 'Der Produktionsstart lässt sich nicht anwenden ({reason}); Kartei läuft ohne ihn.',
  'not-launched': 'nicht über den Produktionsstart (bin/kartei.js) gestartet: glibc-malloc mit seinen Voreinstellungen',
  jemalloc: 'jemalloc ({library}, {conf})',
  'jemalloc-not-mapped': 'jemalloc angefordert, aber nicht geladen',
  'tuned-overridden':
    'abgestimmtes glibc-malloc angefordert, aber das GLIBC_TUNABLES des Betreibers ({tunables}…) ist gesetzt und gilt vorrangig (mit KARTEI_ALLOCATOR=system laufen die eigenen Tunables)',
  tuned: 'abgestimmtes glibc-malloc ({values})',
  'tuned-missing': 'abgestimmtes glibc-malloc angefordert, aber nicht in der Startumgebung',
  system: 'system (die Umgebung wie gegeben; KARTEI_ALLOCATOR=system)',
};

/** The start's words in `lang`: German from the code, English as the start wrote them. */
export function launchText(words: LaunchWords | undefined, english: string, lang: 'de' | 'en'): string {
  const german = lang === 'de' && words ? DE[words.code] : undefined;
  if (german === undefined) return english;
  const text = german.replace(/\{(\w+)\}/g, (m, k: string) => words!.params[k] ?? m);
  return words!.params.v8 ? `${text}; V8 ${words!.params.v8}` : text;
}

/** For bin/kartei.js, before the language is checked: English only when KARTEI_LANG=en asks for it. */
export const launchWordsFromEnv =
  (env: NodeJS.ProcessEnv = process.env) =>
  (words: LaunchWords, english: string): string =>
    launchText(words, english, env.KARTEI_LANG === 'en' ? 'en' : 'de');
