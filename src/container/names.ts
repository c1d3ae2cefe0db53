/**
 * Generated container names, `adjective_noun` like Podman's and Docker's, so
 * `ps` reads the same. Collisions are retried by the caller under the lock.
 */

// Math.random rather than node:crypto: names and IDs are not secrets, need only
// be unique (checked under the lock), and node:crypto costs ms to load on `run`.
const randomInt = (n: number) => Math.floor(Math.random() * n)

/** A 64-hex-digit container ID. */
export function generateId(): string {
  let id = ''
  while (id.length < 64) id += Math.floor(Math.random() * 2 ** 32).toString(16).padStart(8, '0')
  return id
}

const ADJECTIVES = [
  'admiring', 'affectionate', 'agitated', 'amazing', 'angry', 'awesome', 'blissful', 'bold', 'boring', 'brave',
  'busy', 'charming', 'clever', 'compassionate', 'competent', 'condescending', 'confident', 'cool', 'cranky', 'crazy',
  'dazzling', 'determined', 'distracted', 'dreamy', 'eager', 'ecstatic', 'elastic', 'elated', 'elegant', 'eloquent',
  'epic', 'exciting', 'fervent', 'festive', 'flamboyant', 'focused', 'friendly', 'frosty', 'funny', 'gallant',
  'gifted', 'goofy', 'gracious', 'great', 'happy', 'hardcore', 'heuristic', 'hopeful', 'hungry', 'infallible',
  'inspiring', 'intelligent', 'interesting', 'jolly', 'jovial', 'keen', 'kind', 'laughing', 'loving', 'lucid',
  'magical', 'modest', 'musing', 'mystifying', 'naughty', 'nervous', 'nice', 'nifty', 'nostalgic', 'objective',
  'optimistic', 'peaceful', 'pedantic', 'pensive', 'practical', 'priceless', 'quirky', 'quizzical', 'recursing', 'relaxed',
  'reverent', 'romantic', 'sad', 'serene', 'sharp', 'silly', 'sleepy', 'stoic', 'strange', 'stupefied',
  'suspicious', 'sweet', 'tender', 'thirsty', 'trusting', 'unruffled', 'upbeat', 'vibrant', 'vigilant', 'vigorous',
  'wizardly', 'wonderful', 'xenodochial', 'youthful', 'zealous', 'zen',
]

const NOUNS = [
  'agnesi', 'albattani', 'allen', 'archimedes', 'ardinghelli', 'aryabhata', 'babbage', 'banach', 'bardeen', 'bartik',
  'bell', 'bhabha', 'blackwell', 'bohr', 'booth', 'borg', 'bose', 'brahmagupta', 'brattain', 'brown',
  'carson', 'cerf', 'chandrasekhar', 'chatterjee', 'clarke', 'colden', 'cori', 'cray', 'curie', 'darwin',
  'davinci', 'dijkstra', 'dubinsky', 'easley', 'edison', 'einstein', 'elion', 'engelbart', 'euclid', 'euler',
  'faraday', 'fermat', 'fermi', 'feynman', 'franklin', 'galileo', 'gates', 'goldberg', 'goldstine', 'goodall',
  'hamilton', 'hawking', 'heisenberg', 'hertz', 'hodgkin', 'hofstadter', 'hopper', 'hypatia', 'jackson', 'jang',
  'jennings', 'johnson', 'joliot', 'kalam', 'kepler', 'khorana', 'kilby', 'knuth', 'kowalevski', 'lalande',
  'lamarr', 'leakey', 'leavitt', 'lovelace', 'lumiere', 'mahavira', 'mayer', 'mccarthy', 'mcclintock', 'meitner',
  'mendel', 'merkle', 'mirzakhani', 'morse', 'murdock', 'napier', 'newton', 'nobel', 'noether', 'payne',
  'perlman', 'pike', 'poincare', 'ptolemy', 'raman', 'ramanujan', 'ride', 'ritchie', 'rosalind', 'saha',
  'sammet', 'shannon', 'shockley', 'sinoussi', 'snyder', 'stonebraker', 'swanson', 'tesla', 'thompson', 'torvalds',
  'turing', 'varahamihira', 'volhard', 'wescoff', 'wiles', 'williams', 'wilson', 'wing', 'wozniak', 'wright', 'yalow', 'yonath',
]

export function generateName(taken: (name: string) => boolean): string {
  for (let i = 0; i < 20; i++) {
    const name = `${ADJECTIVES[randomInt(ADJECTIVES.length)]}_${NOUNS[randomInt(NOUNS.length)]}`
    if (!taken(name)) return name
  }
  // A crowded store: add digits as Docker does.
  for (;;) {
    const name = `${ADJECTIVES[randomInt(ADJECTIVES.length)]}_${NOUNS[randomInt(NOUNS.length)]}${randomInt(10)}`
    if (!taken(name)) return name
  }
}

const VALID_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/

export function isValidName(name: string): boolean {
  return VALID_NAME.test(name)
}
