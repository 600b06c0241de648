// The differential test of the tokenizer against Hugging Face's own (the npm package `tokenizers`, the Node
// binding of the Rust library): seeded random documents in several categories of hostile Unicode, plus every
// assigned code point, encoded by both; the ids must be identical, document by document. Run through run.sh
// (which installs the package); docs/tokenizer.md says what it covers.
//
//   node hf_diff.cjs --modules DIR --ours TOKENIZER_LINES --tokenizer JSON [--docs N] [--seed S]
//                    [--categories a,b,...] [--failures DIR]
//
// --docs N random documents per random category (default 40), from seed S (default 1; document i of a category
// uses seed S + i, so a failure is replayed with --seed S+i --docs 1). Exit status 1 if any document whose
// characters are all assigned in Unicode 15.0 (our Unicode data, utf8proc's) differs; documents that differ
// and hold a character Unicode 15.0 does not have are reported apart and do not fail the run. For each
// difference it prints the first one as code points with both sides' ids, and which stage first differs (NFC,
// the GPT-2 split, or after them); with --failures the document is written there for `tinymamba tokenize`.
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

// ---- command line ------------------------------------------------------------------------------------------
const options = { docs: '40', seed: '1', categories: '' };
for (let i = 2; i < process.argv.length; i += 2) {
  const name = process.argv[i].replace(/^--/, '');
  const known = ['modules', 'ours', 'tokenizer', 'docs', 'seed', 'categories', 'failures'];
  if (!process.argv[i].startsWith('--') || !known.includes(name) || i + 1 >= process.argv.length) {
    usage(`bad argument ${process.argv[i]}`);
  }
  options[name] = process.argv[i + 1];
}
function usage(problem) {
  console.error(`hf_diff.cjs: ${problem}\nusage: node hf_diff.cjs --modules DIR --ours TOKENIZER_LINES ` +
                '--tokenizer JSON [--docs N] [--seed S] [--categories a,b] [--failures DIR]');
  process.exit(2);
}
for (const required of ['modules', 'ours', 'tokenizer']) if (!options[required]) usage(`--${required} is required`);
const docsPerCategory = Number(options.docs);
const baseSeed = Number(options.seed);
if (!Number.isInteger(docsPerCategory) || docsPerCategory < 0) usage('--docs must be a count');
if (!Number.isInteger(baseSeed)) usage('--seed must be an integer');

const hf = require(path.join(path.resolve(options.modules), 'tokenizers'));
const hfVersion = require(path.join(path.resolve(options.modules), 'tokenizers/package.json')).version;
const hfTokenizer = hf.Tokenizer.fromFile(options.tokenizer);
const hfNfc = hf.nfcNormalizer();
const hfSplit = hf.byteLevelPreTokenizer(false, true);  // GPT-NeoX's: no prefix space, the GPT-2 regex

const S = (cp) => String.fromCodePoint(cp);
const codePoints = (s) => [...s].map((c) => c.codePointAt(0));
const textOf = (cps) => cps.map(S).join('');  // (String.fromCodePoint(...cps) overflows the stack on long lists)

// ---- our side: one tokenizer_lines process per batch of requests ---------------------------------------------
function ours(requests) {
  const run = spawnSync(options.ours, [options.tokenizer], {
    input: requests.map((r) => JSON.stringify(r)).join('\n') + '\n',
    maxBuffer: 1 << 30,
  });
  if (run.status !== 0) {
    console.error(`hf_diff.cjs: ${options.ours} failed (status ${run.status}): ${run.stderr}`);
    process.exit(2);
  }
  const answers = run.stdout.toString('utf8').split('\n').slice(0, -1).map((line) => JSON.parse(line));
  if (answers.length !== requests.length) {
    console.error(`hf_diff.cjs: ${requests.length} requests, ${answers.length} answers`);
    process.exit(2);
  }
  return answers;
}

// ---- Unicode 15.0 as our tokenizer sees it: the general category and combining class of every scalar value ---
// (used to pick characters and to set apart what Unicode 15.0 does not have, never as expected values)
const scalars = [];
for (let cp = 0; cp < 0x110000; ++cp) if (cp < 0xd800 || cp > 0xdfff) scalars.push(cp);
const properties = ours([{ op: 'properties', text: textOf(scalars) }])[0];
const categoryOf = new Map(scalars.map((cp, i) => [cp, properties.categories.slice(2 * i, 2 * i + 2)]));
const classOf = new Map(scalars.map((cp, i) => [cp, properties.classes[i]]));
const assigned15 = (cp) => categoryOf.get(cp) !== 'Cn';
const assigned = scalars.filter(assigned15);
const withCategory = (prefix) => assigned.filter((cp) => categoryOf.get(cp).startsWith(prefix));
const letters = withCategory('L');
const marks = withCategory('M');
const numbers = withCategory('N');
const punctuationAndSymbols = assigned.filter((cp) => 'PS'.includes(categoryOf.get(cp)[0]));
// Scripts by Node's Unicode data (only to pick characters, so the documents of a seed can change a little with
// Node's Unicode version); a script that Node's data lacks is left out.
const script = (name) => {
  let re;
  try {
    re = new RegExp(`^\\p{Script_Extensions=${name}}$`, 'u');
  } catch {
    return [];
  }
  return assigned.filter((cp) => re.test(S(cp)));
};
const ofScripts = (names) => names.map((name) => ({ name, cps: script(name) })).filter((s) => s.cps.length);
// Characters taking part in a canonical composition or decomposition (by Node's data; picks only).
const decomposing = assigned.filter((cp) => S(cp).normalize('NFD') !== S(cp));
const composingParts = [...new Set(decomposing.flatMap((cp) => codePoints(S(cp).normalize('NFD'))))]
  .filter(assigned15);

// ---- seeded generators --------------------------------------------------------------------------------------
function rng(seed) {  // mulberry32
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const hex = (cp) => 'U+' + cp.toString(16).toUpperCase().padStart(4, '0');
const range = (lo, hi) => Array.from({ length: hi - lo + 1 }, (_, i) => lo + i);

function makeText(r, length, piece) {  // pieces until `length` code points
  const cps = [];
  while (cps.length < length) cps.push(...piece());
  return textOf(cps);
}
const pick = (r, list) => list[Math.floor(r() * list.length)];
const upTo = (r, n) => 1 + Math.floor(r() * n);
const spaceOrNot = (r) => (r() < 0.25 ? [pick(r, [0x20, 0x20, 0x20, 0x0a, 0x09])] : []);
const markRun = (r, n) => Array.from({ length: upTo(r, n) }, () => pick(r, marks));

const whiteSpace = [0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x20, 0x85, 0xa0, 0x1680, ...range(0x2000, 0x200a), 0x2028, 0x2029,
  0x202f, 0x205f, 0x3000];
const notWhiteSpace = [...range(0x00, 0x08), ...range(0x0e, 0x1f), 0x7f, ...range(0x80, 0x84), ...range(0x86, 0x9f),
  0xad, 0x34f, 0x180e, ...range(0x200b, 0x200f), 0x2060, 0xfeff];
const bidiControls = [0x061c, 0x200e, 0x200f, ...range(0x202a, 0x202e), ...range(0x2066, 0x2069)];
const rtlScripts = ofScripts(['Arabic', 'Hebrew', 'Syriac', 'Thaana', 'Nko', 'Samaritan', 'Mandaic', 'Adlam',
  'Hanifi_Rohingya', 'Yezidi', 'Old_Uyghur', 'Sogdian', 'Mende_Kikakui']);
const manyScripts = ofScripts(['Latin', 'Greek', 'Cyrillic', 'Armenian', 'Georgian', 'Devanagari', 'Bengali',
  'Gurmukhi', 'Gujarati', 'Oriya', 'Tamil', 'Telugu', 'Kannada', 'Malayalam', 'Sinhala', 'Thai', 'Lao', 'Tibetan',
  'Myanmar', 'Khmer', 'Mongolian', 'Ethiopic', 'Cherokee', 'Canadian_Aboriginal', 'Hangul', 'Hiragana', 'Katakana',
  'Han', 'Yi', 'Javanese', 'Balinese', 'Sharada', 'Grantha', 'Chakma', 'Tirhuta', 'Takri', 'Ahom', 'Dives_Akuru',
  'Nandinagari', 'Zanabazar_Square', 'Soyombo', 'Masaram_Gondi', 'Gunjala_Gondi', 'Kawi', 'Tangut', 'Nushu',
  'Linear_B', 'Cuneiform', 'Egyptian_Hieroglyphs', 'Vithkuqi', 'Toto', 'Nag_Mundari', 'Arabic', 'Hebrew']);
const emoji = assigned.filter((cp) => /^\p{Extended_Pictographic}$/u.test(S(cp)));
const hangulJamo = [...range(0x1100, 0x11ff), ...range(0xa960, 0xa97c), ...range(0xd7b0, 0xd7fb)].filter(assigned15);
// Hangul composition: L + V = LV syllable, LV + T = LVT syllable, for T in U+11A8..11C2 (U+11A7 is no T).
const L = range(0x1100, 0x1112);
const V = range(0x1161, 0x1175);
const T = range(0x11a7, 0x11c2);
const LV = range(0, 19 * 21 - 1).map((i) => 0xac00 + 28 * i);
const hangulPiece = (r) => pick(r, [[pick(r, L), pick(r, V)], [pick(r, LV), pick(r, T)], [pick(r, L), pick(r, V),
  pick(r, T)], [0xac00 + Math.floor(r() * 11172), pick(r, T)], [pick(r, hangulJamo)]]);

const random = {
  // Base letters (ASCII or any letter) each followed by a run of marks from every script; an added token
  // now and then (marks after it start the next stretch of NFC).
  combining: (r) => makeText(r, 1500, () => [r() < 0.5 ? 0x61 + Math.floor(r() * 26) : pick(r, letters),
    ...markRun(r, 8), ...(r() < 0.02 ? codePoints('<|endoftext|>') : []), ...spaceOrNot(r)]),
  // Characters of canonical compositions (precomposed, their parts, Hangul jamo and syllables), marks between.
  composition: (r) => makeText(r, 1500, () => [pick(r, r() < 0.5 ? composingParts : decomposing),
    ...(r() < 0.3 ? markRun(r, 3) : []), ...(r() < 0.2 ? hangulPiece(r) : []), ...spaceOrNot(r)]),
  // Words of a script each (letters, its marks and digits), words of different scripts side by side.
  mixed: (r) => makeText(r, 2000, () => {
    const { cps } = pick(r, manyScripts);
    return [...Array.from({ length: upTo(r, 10) }, () => pick(r, cps)), ...(r() < 0.2 ? markRun(r, 3) : []),
      ...(r() < 0.8 ? [0x20] : r() < 0.5 ? [pick(r, punctuationAndSymbols)] : [])];
  }),
  // Right-to-left scripts with their marks and digits, bidi controls, tatweel.
  rtl: (r) => makeText(r, 2000, () => {
    const { cps } = pick(r, rtlScripts);
    return [...Array.from({ length: upTo(r, 8) }, () => pick(r, cps)), ...(r() < 0.2 ? [pick(r, bidiControls)] : []),
      ...(r() < 0.1 ? [0x0640] : []), ...(r() < 0.7 ? [0x20] : [pick(r, [0x2e, 0x60c, 0x61f, 0x5be, 0x0a])])];
  }),
  // Emoji with skin tones, ZWJ sequences, variation selectors, keycaps, tags and regional indicators.
  emoji: (r) => makeText(r, 1200, () => {
    const e = [pick(r, emoji)];
    if (r() < 0.3) e.push(pick(r, range(0x1f3fb, 0x1f3ff)));
    if (r() < 0.3) e.push(pick(r, [0xfe0e, 0xfe0f]));
    if (r() < 0.2) e.push(0x200d, pick(r, emoji));
    if (r() < 0.1) e.push(0x20e3);
    if (r() < 0.05) e.push(...Array.from({ length: upTo(r, 6) }, () => pick(r, range(0xe0020, 0xe007f))));
    if (r() < 0.1) e.push(pick(r, range(0x1f1e6, 0x1f1ff)), pick(r, range(0x1f1e6, 0x1f1ff)));
    if (r() < 0.2) e.push(pick(r, letters));
    return [...e, ...spaceOrNot(r)];
  }),
  // Every White_Space character, look-alikes that are not, controls, space runs (GPT-NeoX's space tokens),
  // contractions, ASCII punctuation and the special tokens between short words.
  whitespace: (r) => makeText(r, 2000, () => {
    const run = Array.from({ length: r() < 0.2 ? upTo(r, 40) : upTo(r, 3) },
      () => (r() < 0.5 ? 0x20 : pick(r, r() < 0.7 ? whiteSpace : notWhiteSpace)));
    const word = r() < 0.5 ? codePoints('word') : [pick(r, letters), pick(r, numbers)];
    const tail = r() < 0.2 ? codePoints(pick(r, ["'s", "'ll", "'VE", '!?', '...', "'", '--', '<|endoftext|>',
      '<|padding|>'])) : [];
    return [...run, ...word, ...tail];
  }),
  // Numbers of every system (decimal digits, letter numbers, other numbers) with signs, separators, letters.
  digits: (r) => makeText(r, 1500, () => [...Array.from({ length: upTo(r, 6) }, () => pick(r, numbers)),
    ...(r() < 0.3 ? [pick(r, [0x2c, 0x2e, 0x2d, 0x2b, 0x66b, 0x66c])] : []), ...(r() < 0.2 ? [pick(r, letters)] : []),
    ...(r() < 0.1 ? markRun(r, 2) : []), ...spaceOrNot(r)]),
  // Any scalar value: also characters Unicode 15.0 does not have (reported apart when they make a difference).
  anything: (r) => makeText(r, 1000, () => [r() < 0.5 ? pick(r, scalars) : pick(r, assigned), ...spaceOrNot(r)]),
};

// Deterministic documents: every assigned code point (Unicode 15.0) in order, in slices; each assigned code
// point (but runs of alike ones) in a context that shows its class to the split; composition pairs; each
// non-starter against one of every combining class, in both orders.
const deterministic = {
  every: () => {
    const docs = [];
    for (let i = 0; i < assigned.length; i += 4096) docs.push(textOf(assigned.slice(i, i + 4096)));
    return docs;
  },
  each: () => {
    // Left out, as `every` has them: private use, and letters and numbers inside a run of code points of one
    // category that neither decompose nor have a class (the bulk of Han, Hangul syllables, Tangut, ...).
    const plain = (cp) => classOf.get(cp) === 0 && S(cp).normalize('NFD') === S(cp);
    const inRun = (cp) => 'LN'.includes(categoryOf.get(cp)[0]) && plain(cp) && [cp - 1, cp + 1]
      .every((n) => categoryOf.get(n) === categoryOf.get(cp) && plain(n));
    const some = assigned.filter((cp) => categoryOf.get(cp) !== 'Co' && !inRun(cp));
    const docs = [];
    for (let i = 0; i < some.length; i += 1024) {
      docs.push(some.slice(i, i + 1024).map((cp) => `a${S(cp)}1${S(cp)}!${S(cp)} ${S(cp)}${S(cp)}\n`).join(''));
    }
    return docs;
  },
  // Every pair (first, second) of parts of canonical decompositions, alone and with a mark between; every L + V
  // and LV + T (U+11A7 included) of Hangul.
  pairs: () => {
    const nfd = decomposing.map((cp) => codePoints(S(cp).normalize('NFD')));
    const firsts = [...new Set(nfd.filter((d) => d.length > 1).map((d) => d[0]))].filter(assigned15);
    const seconds = [...new Set(nfd.flatMap((d) => d.slice(1)))].filter(assigned15);
    const probes = [];
    for (const f of firsts) for (const s of seconds) probes.push(`${S(f)}${S(s)} ${S(f)}\u0316${S(s)}\n`);
    for (const l of L) for (const v of V) probes.push(`${S(l)}${S(v)}\n`);
    for (const lv of LV) for (const t of T) probes.push(`${S(lv)}${S(t)}\n`);
    const docs = [];
    for (let i = 0; i < probes.length; i += 4096) docs.push(probes.slice(i, i + 4096).join(''));
    return docs;
  },
  marks: () => {
    const nonStarters = assigned.filter((cp) => classOf.get(cp) !== 0);
    const reps = [...new Map(nonStarters.map((cp) => [classOf.get(cp), cp])).values()];  // one per class
    const probes = [];
    for (const m of nonStarters) for (const k of reps) probes.push(`-${S(m)}${S(k)}\n-${S(k)}${S(m)}\n`);
    const docs = [];
    for (let i = 0; i < probes.length; i += 4096) docs.push(probes.slice(i, i + 4096).join(''));
    return docs;
  },
};

// ---- the comparison -----------------------------------------------------------------------------------------
const wanted = options.categories ? options.categories.split(',')
  : [...Object.keys(random), ...Object.keys(deterministic)];
for (const name of wanted) if (!random[name] && !deterministic[name]) usage(`unknown category ${name}`);

const documents = [];
for (const name of wanted) {
  if (random[name]) {
    for (let i = 0; i < docsPerCategory; ++i) {
      documents.push({ category: name, label: `seed ${baseSeed + i}`, text: random[name](rng(baseSeed + i)) });
    }
  } else {
    deterministic[name]().forEach((text, i) => documents.push({ category: name, label: `part ${i}`, text }));
  }
}

const showCps = (cps) => cps.map(hex).join(' ');
const sameArray = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);
const firstDifference = (a, b) => { let k = 0; while (k < a.length && k < b.length && a[k] === b[k]) ++k; return k; };
const byteLevelChar = (() => {  // GPT-2's bytes_to_unicode, reversed: HF's pieces are spelled with it
  const printable = [...range(0x21, 0x7e), ...range(0xa1, 0xac), ...range(0xae, 0xff)];
  const map = new Map(printable.map((b) => [S(b), b]));
  let n = 0;
  for (let b = 0; b < 256; ++b) if (!printable.includes(b)) map.set(S(256 + n++), b);
  return map;
})();
const pieceText = (spelled) => Buffer.from([...spelled].map((c) => byteLevelChar.get(c))).toString('utf8');

// Where two documents first differ: the stage and the code points around it.
function explain(doc, hfIds, ourIds) {
  const lines = [];
  const [ourNfc] = ours([{ op: 'nfc', text: doc.text }]);
  const theirNfc = hfNfc.normalizeString(doc.text);
  const k = firstDifference(hfIds, ourIds);
  if (theirNfc !== ourNfc.text) {
    const a = codePoints(theirNfc);
    const b = codePoints(ourNfc.text);
    const at = firstDifference(a, b);
    lines.push(`NFC differs at code point ${at} of the normalized text:`,
      `    Hugging Face: ${showCps(a.slice(Math.max(0, at - 3), at + 6))}`,
      `    ours:         ${showCps(b.slice(Math.max(0, at - 3), at + 6))}`);
  } else {
    const theirPieces = hfSplit.preTokenizeString(theirNfc).map(([p]) => pieceText(p));
    const [ourPieces] = ours([{ op: 'split', text: theirNfc }]);
    const at = firstDifference(theirPieces, ourPieces.pieces);
    if (at < theirPieces.length || at < ourPieces.pieces.length) {
      const showPiece = (p) => showCps(codePoints(p).slice(0, 12)) + (codePoints(p).length > 12 ? ' ...' : '');
      const show = (pieces) => pieces.slice(at, at + 3).map((p) => `[${showPiece(p)}]`).join(' ');
      lines.push(`the GPT-2 split differs at piece ${at}:`, `    Hugging Face: ${show(theirPieces)}`,
        `    ours:         ${show(ourPieces.pieces)}`);
    } else {
      lines.push('NFC and split agree; the ids differ after them (added tokens or BPE)');
    }
  }
  const span = (ids) => ids.slice(Math.max(0, k - 2), k + 6).join(' ');
  lines.push(`ids differ at index ${k} of ${hfIds.length} (Hugging Face) / ${ourIds.length} (ours), ` +
    `from index ${Math.max(0, k - 2)}:`,
    `    Hugging Face: ${span(hfIds)}`, `    ours:         ${span(ourIds)}`);
  return lines;
}

const kExplained = 10;  // differences shown in full (the rest are counted)

(async () => {
  const start = Date.now();
  const ourIds = ours(documents.map((d) => ({ op: 'encode', text: d.text })));
  const stats = new Map(wanted.map((name) => [name, { docs: 0, chars: 0, tokens: 0, differ: 0, apart: 0 }]));
  const newer = new Set();
  let failures = 0;
  for (let i = 0; i < documents.length; ++i) {
    const doc = documents[i];
    const hfIds = (await hfTokenizer.encode(doc.text, null, { addSpecialTokens: false })).getIds();
    const s = stats.get(doc.category);
    s.docs += 1;
    s.chars += codePoints(doc.text).length;
    s.tokens += hfIds.length;
    if (ourIds[i].error !== undefined) {
      ++s.differ;
      ++failures;
      console.log(`DIFF ${doc.category} ${doc.label}: ours failed: ${ourIds[i].error}`);
      continue;
    }
    if (sameArray(hfIds, ourIds[i].ids)) continue;
    const notIn15 = [...new Set(codePoints(doc.text).filter((cp) => !assigned15(cp)))];
    if (notIn15.length) {
      ++s.apart;
      notIn15.forEach((cp) => newer.add(cp));
      continue;
    }
    ++s.differ;
    if (++failures > kExplained) continue;
    console.log(`DIFF ${doc.category} ${doc.label} (${codePoints(doc.text).length} code points):`);
    for (const line of explain(doc, hfIds, ourIds[i].ids)) console.log('  ' + line);
    if (options.failures) {
      fs.mkdirSync(options.failures, { recursive: true });
      const file = path.join(options.failures, `${doc.category}-${doc.label.replace(' ', '-')}.txt`);
      fs.writeFileSync(file + '.tmp', doc.text);
      fs.renameSync(file + '.tmp', file);
      console.log(`  the document: ${file}`);
    }
  }
  console.log(`Hugging Face tokenizers ${hfVersion} vs tinymamba, ${path.basename(options.tokenizer)}, ` +
    `${docsPerCategory} random documents per category from seed ${baseSeed}:`);
  for (const [name, s] of stats) {
    const column = (n, width) => String(n).padStart(width);
    console.log(`  ${name.padEnd(12)} ${column(s.docs, 5)} documents ${column(s.chars, 8)} code points ` +
      `${String(s.tokens).padStart(8)} tokens: ${s.differ} differ` +
      (s.apart ? `, ${s.apart} more differ holding characters Unicode 15.0 does not have (not counted)` : ''));
  }
  if (newer.size) {
    // Of the characters Unicode 15.0 does not have, those assigned since (by Node's Unicode data) can be the cause.
    const since = [...newer].filter((cp) => /^\p{Assigned}$/u.test(S(cp))).sort((a, b) => a - b);
    console.log(`  in the documents set apart, ${newer.size} characters are not in Unicode 15.0; ${since.length} of ` +
      `them are assigned in Unicode ${process.versions.unicode} (Node's data): ` +
      `${since.slice(0, 12).map(hex).join(' ')}${since.length > 12 ? ' ...' : ''}`);
  }
  if (failures > kExplained) console.log(`(only the first ${kExplained} differences are shown)`);
  console.log(`${failures ? 'FAILED' : 'OK'}: ${failures} of ${documents.length} documents differ ` +
    `(${((Date.now() - start) / 1000).toFixed(1)} s)`);
  process.exit(failures ? 1 : 0);
})();
