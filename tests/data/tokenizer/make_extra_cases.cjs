// Writes extra_cases.json: strings chosen to probe what the goldens do not (controls, invisible and unusual
// whitespace, other scripts and digit systems, NFC, space runs, added tokens in odd places, long inputs) with the
// GPT-NeoX ids that Hugging Face's own tokenizer gives them, plus id lists whose bytes are not valid UTF-8 with
// what Hugging Face decodes them to. Not run by the build or the tests; see README.md here for how to run it.
//
//   node make_extra_cases.cjs NODE_MODULES_DIR TOKENIZER_JSON > extra_cases.json
//
// NODE_MODULES_DIR holds the npm packages `tokenizers` (the Node binding of Hugging Face's Rust library, which
// produced the goldens: the reference) and `@huggingface/tokenizers` (the pure-JS port: a second opinion;
// disagreements are listed on stderr, the Rust ids are written).
'use strict';
const path = require('path');
const fs = require('fs');

const [modulesDir, tokenizerPath] = process.argv.slice(2);
if (!modulesDir || !tokenizerPath) {
  console.error('usage: node make_extra_cases.cjs NODE_MODULES_DIR TOKENIZER_JSON > extra_cases.json');
  process.exit(2);
}
const rust = require(path.join(path.resolve(modulesDir), 'tokenizers'));
const purejs = require(path.join(path.resolve(modulesDir), '@huggingface/tokenizers'));
const REFERENCE = 'tokenizers (Rust, npm) ' + require(path.join(path.resolve(modulesDir), 'tokenizers/package.json')).version;

// mulberry32: a seeded generator, so that the random cases are the same on every run.
function rng(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const pick = (r, list) => list[Math.floor(r() * list.length)];
const sp = (n) => ' '.repeat(n);
const hex = (cp) => cp.toString(16).toUpperCase().padStart(4, '0');

const cases = [];
const add = (name, text) => cases.push({ name, text });

// --- control characters: every C0 control, DEL, every C1 control, each between letters; runs of NUL -------------
for (let cp = 0; cp < 0x20; ++cp) add(`C0 U+${hex(cp)} between letters`, `a${String.fromCodePoint(cp)}b`);
add('DEL between letters', 'a\x7Fb');
for (let cp = 0x80; cp < 0xa0; ++cp) add(`C1 U+${hex(cp)} between words`, `word${String.fromCodePoint(cp)} word`);
add('NUL alone', '\0');
add('NULs around and inside words', '\0\0hello\0world \0 \0\0\0 end\0');
add('all C0 controls in a row, then text', Array.from({ length: 32 }, (_, i) => String.fromCodePoint(i)).join('') + 'x');
add('controls after spaces', 'x  \x01  \x02\x1b[31mred\x1b[0m \x07');

// --- whitespace: every White_Space character and look-alikes that are not, in several contexts -------------------
const spaces = [0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x85, 0xa0, 0x1680, 0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005,
  0x2006, 0x2007, 0x2008, 0x2009, 0x200a, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000];
for (const cp of spaces) {
  const c = String.fromCodePoint(cp);
  add(`White_Space U+${hex(cp)} in contexts`, `a${c}b ${c}c${c} d${c}${c}e  ${c}f${c}  g!${c}!${c}${c}1${c}`);
}
const notSpaces = [0x1c, 0x1d, 0x1e, 0x1f, 0x180e, 0x200b, 0x200c, 0x200d, 0x2060, 0xfeff, 0x00ad, 0x034f];
for (const cp of notSpaces) {
  const c = String.fromCodePoint(cp);
  add(`not White_Space U+${hex(cp)} in contexts`, `a${c}b ${c}c${c} d${c}${c}e  ${c}f${c}  g!${c}!${c}${c}1${c}`);
}
add('NBSP runs', '\u00a0\u00a0x \u00a0 y\u00a0\u00a0\u00a0');
add('BOM at start', '\ufeffHello, world');
add('zero-width joiner and non-joiner in words', 'ab\u200dcd \u200cef\u200c gh\u200b\u200bij');
add('mixed whitespace', ' \t \n \r\n\t\t  x \u00a0 \u3000y\n\n\n   \n\t');
add('CRLF runs', 'a\r\n\r\n  b\r\n    c\r\r\n');
add('tabs and spaces', '\t\tx\t \t y \t\t z\t');
add('only newlines', '\n\n\n\n');
add('only tabs', '\t\t\t');
add('space then newline runs', '  \n  \n    \n x');
add('NEL, LS, PS between lines', 'one\u0085two\u2028three\u2029four');

// --- runs of 1..60 spaces --------------------------------------------------------------------------------------
for (let n = 1; n <= 60; ++n) add(`${n} spaces before and after a word`, `${sp(n)}word${sp(n)}`);
const runs = Array.from({ length: 60 }, (_, i) => i + 1);
add('runs of 1..60 spaces between words', runs.map((n) => `w${n}${sp(n)}`).join('') + 'end');
add('runs of 1..60 spaces after newlines', runs.map((n) => `\n${sp(n)}x`).join(''));
add('runs of 1..60 spaces before newlines', runs.map((n) => `x${sp(n)}\n`).join(''));
add('runs of 1..60 spaces after tabs', runs.map((n) => `\t${sp(n)}1`).join(''));
add('runs of 1..60 spaces before punctuation', runs.map((n) => `${sp(n)}!`).join(''));
add('runs of 1..60 spaces after NBSP', runs.map((n) => `\u00a0${sp(n)}y`).join(''));
add('runs of 1..60 spaces before digits and CJK', runs.map((n) => `${sp(n)}${n}${sp(n)}中`).join(''));
add('100 spaces', sp(100));
add('1000 spaces then a word', sp(1000) + 'x');

// --- other scripts ---------------------------------------------------------------------------------------------
add('Devanagari', 'नमस्ते दुनिया, यह एक परीक्षण है।');
add('Thai', 'สวัสดีชาวโลก นี่คือการทดสอบ');
add('Hebrew with points', 'שָׁלוֹם עוֹלָם, זֶה מִבְחָן');
add('Hangul conjoining jamo (NFC composes them)', '\u1100\u1161\u11a8 \u1112\u1161\u11ab\u1100\u1173\u11af \u1100\u1161');
add('Hangul compatibility jamo', 'ㄱㄴㄷ ㅏㅑㅓ ㅋㅋㅋ');
add('Tamil', 'வணக்கம் உலகம்');
add('Bengali', 'হ্যালো বিশ্ব');
add('Georgian and Armenian', 'გამარჯობა მსოფლიო Բարեւ աշխարհ');
add('Ethiopic', 'ሰላም ልዑል');
add('Khmer and Lao', 'សួស្តីពិភពលោក ສະບາຍດີ');
add('Tibetan', 'བཀྲ་ཤིས་བདེ་ལེགས།');
add('Mongolian with FVS and MVS', 'ᠮᠣᠩᠭᠣᠯ\u180b ᠪᠢᠴᠢᠭ\u180e\u1820');
add('Sinhala, Myanmar', 'ආයුබෝවන් မင်္ဂလာပါ');
add('Cherokee and Canadian syllabics', 'ᏣᎳᎩ ᐃᓄᒃᑎᑐᑦ');
add('math alphanumerics', '𝐀𝐁𝐂 𝑥𝑦𝑧 𝔸𝔹ℂ');
add('Arabic with tatweel and harakat', 'مَرْحَبًا بِالعـــالم');
add('Japanese half-width katakana', 'ﾊﾝｶｸ ｶﾀｶﾅ');
add('Old scripts (Gothic, Linear B)', '𐌰𐌱𐌲 𐀀𐀁');
add('Cyrillic with combining accents', 'Приве́т ё е\u0308');

// --- digit systems ---------------------------------------------------------------------------------------------
add('Arabic-Indic digits', '٠١٢٣٤٥٦٧٨٩ و ١٢٣');
add('Extended Arabic-Indic digits', '۰۱۲۳۴۵۶۷۸۹');
add('Devanagari digits', 'वर्ष २०२४ में');
add('Bengali and Thai digits', '০১২৩ ๐๑๒๓');
add('full-width digits and letters', '０１２３４５ ＡＢＣ ｘ１');
add('superscripts and subscripts', 'x² + y³ = z⁴ H₂O 10⁻⁶');
add('circled and other numbers', '①②③ ⅫⅣ ½ ¾ 〇一二三');
add('mathematical digits', '𝟎𝟏𝟐 𝟘𝟙𝟚');
add('digits mixed with letters across systems', 'abc١٢٣def 12٣4 x٣ ٣x ¹x');
add('numbers with spaces and signs', ' 123 -45 +6.7e-8 1,234,567 0x1F 1_000');

// --- NFC --------------------------------------------------------------------------------------------------------
add('NFC: composition', 'e\u0301 A\u030a o\u0308 n\u0303 c\u0327');
add('NFC: singletons (Angstrom, Ohm, CJK compatibility)', '\u212b \u2126 \uf900 \u2000');
add('NFC: composition exclusion stays decomposed', '\u0958 \u0915\u093c \u2adc');
add('NFC: reordering of combining marks', 'a\u0301\u0328 a\u0328\u0301 \u1e9b\u0323 q\u0307\u0323');
add('NFC: multiple accents and Vietnamese', 'Tiếng Việt: e\u0302\u0301 ô\u0300 ư\u0309');
add('NFC: compatibility characters are kept', 'ﬁ ﬀ ㎏ ™ Ⅸ ｶ');
add('NFC: combining marks alone and after spaces', '\u0301 \u0301\u0301x  \u0308');

// --- contractions -------------------------------------------------------------------------------------------------
add("contractions in odd places", "'s 'S 'sup I'M y'all'd've don''t '' ' rock'n'roll 'll've");
add("apostrophe look-alikes", "don’t it‘s can`t");

// --- added tokens in odd places -------------------------------------------------------------------------------
add('endoftext twice', '<|endoftext|><|endoftext|>');
add('endoftext between spaces', ' <|endoftext|> ');
add('endoftext then a space run', '<|endoftext|>   x');
add('endoftext after a space run', 'x   <|endoftext|>');
add('partial endoftext markers', '<|endoftext <|endoftext| endoftext|> <|ENDOFTEXT|> <<|endoftext|>>');
add('padding token', '<|padding|>');
add('padding and endoftext mixed', 'a<|padding|>b<|endoftext|>c<|padding|><|endoftext|>');
add('combining mark after endoftext', '<|endoftext|>\u0301e<|endoftext|>\u0301');
add('endoftext inside a word and a number', 'abc<|endoftext|>def 12<|endoftext|>34');
add('endoftext in a long space run', sp(30) + '<|endoftext|>' + sp(30));

// --- emoji --------------------------------------------------------------------------------------------------------
add('emoji with skin tones', '👍🏽 👋🏿 🧑🏻‍💻');
add('emoji ZWJ and variation selectors', '🏳️‍🌈 ❤️ ☺️ ☺︎ 👩‍❤️‍💋‍👨');
add('keycaps and tag sequences', '1️⃣ #️⃣ 🏴󠁧󠁢󠁳󠁣󠁴󠁿');
add('emoji inside words and after spaces', 'I❤️NY  🙂x 🙂 🙂🙂');

// --- long inputs --------------------------------------------------------------------------------------------------
add('1000 a', 'a'.repeat(1000));
add('ab repeated 2000 times', 'ab'.repeat(2000));
add('3000 nines', '9'.repeat(3000));
add('2000 exclamation marks', '!'.repeat(2000));
add('a long word repeated without spaces', 'supercalifragilisticexpialidocious'.repeat(50));
{
  const r = rng(1);
  const letters = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';
  add('5000 random letters', Array.from({ length: 5000 }, () => pick(r, letters)).join(''));
  const b64 = letters + '0123456789+/';
  add('base64 blob', Array.from({ length: 4000 }, () => pick(r, b64)).join('') + '==');
}
{
  const sentences = ['The quick brown fox jumps over the lazy dog.', 'It was 3:45 pm on 2024-01-15; nobody came.',
    '"Why?" she asked -- and he said: "Because!"', 'Prices rose 12.5% (from $1,000 to $1,125).',
    "We'll see what they've done, won't we?"];
  let text = '';
  for (let i = 0; text.length < 10000; ++i) text += sentences[i % sentences.length] + (i % 7 === 6 ? '\n\n' : ' ');
  add('10k characters of English prose', text.slice(0, 10000));
}
{
  const r = rng(2);
  const words = ['hello', 'мир', 'κόσμε', '世界', 'こんにちは', '안녕', 'مرحبا', 'שלום', 'नमस्ते', 'สวัสดี', '١٢٣', '४५६',
    '１２３', '42', "it's", '😀', '👨‍👩‍👧', 'e\u0301', '\u1100\u1161', '<|endoftext|>', '!!', '...', '\u200b', '\0'];
  const seps = [' ', '  ', sp(5), sp(30), '\n', '\t', '\u00a0', '\u3000', ' \n ', '', '\r\n'];
  let text = '';
  while ([...text].length < 10000) text += pick(r, words) + pick(r, seps);
  add('10k characters of words in many scripts', text);
}
{
  // Random code points from blocks assigned long before Unicode 15 (this implementation's Unicode data is 15.0,
  // the reference's 16.0), including combining marks and conjoining jamo so that NFC has work to do.
  const r = rng(3);
  const blocks = [[0x20, 0x7e], [0xa0, 0x24f], [0x300, 0x36f], [0x370, 0x3ff], [0x400, 0x4ff], [0x600, 0x6ff],
    [0x900, 0x97f], [0xe00, 0xe5b], [0x1100, 0x11ff], [0x2000, 0x206f], [0x3000, 0x30ff], [0x4e00, 0x9fff],
    [0xac00, 0xd7a3], [0xff00, 0xffef], [0x1f300, 0x1f64f], [0x0, 0x1f], [0x80, 0x9f]];
  const cps = [];
  while (cps.length < 10000) {
    const [lo, hi] = pick(r, blocks);
    cps.push(lo + Math.floor(r() * (hi - lo + 1)));
  }
  add('10k random code points from many blocks', String.fromCodePoint(...cps));
}
{
  // Short random strings over an alphabet of the characters most likely to trip the split.
  const r = rng(4);
  const alphabet = [' ', ' ', ' ', '\n', '\t', 'a', 'Z', 'é', 'e\u0301', '1', '٣', "'", 's', 'll', '!', '.', '\u00a0',
    '\u3000', '\u200b', '\u0085', '\u180e', '中', '😀', '\0', '<|endoftext|>', '\r\n', '\u0301'];
  for (let i = 0; i < 40; ++i) {
    const length = 1 + Math.floor(r() * 40);
    add(`random mix ${i}`, Array.from({ length }, () => pick(r, alphabet)).join(''));
  }
}

// --- reference ids ----------------------------------------------------------------------------------------------
const tokenizerJson = JSON.parse(fs.readFileSync(tokenizerPath, 'utf8'));
const reference = rust.Tokenizer.fromFile(tokenizerPath);
const second = new purejs.Tokenizer(tokenizerJson, {});

// Ids whose bytes are not valid UTF-8, to pin down the decoder's U+FFFD replacement.
const byteChar = (() => {  // GPT-2's bytes_to_unicode
  const bs = [];
  for (let b = 0x21; b <= 0x7e; ++b) bs.push(b);
  for (let b = 0xa1; b <= 0xac; ++b) bs.push(b);
  for (let b = 0xae; b <= 0xff; ++b) bs.push(b);
  const map = new Map(bs.map((b) => [b, String.fromCodePoint(b)]));
  let n = 0;
  for (let b = 0; b < 256; ++b) if (!map.has(b)) map.set(b, String.fromCodePoint(256 + n++));
  return map;
})();
const byteIds = (...bytes) => bytes.map((b) => {
  const id = reference.tokenToId(byteChar.get(b));
  if (id === null || id === undefined) throw new Error(`no token for byte ${b}`);
  return id;
});

(async () => {
  const encoded = [];
  let disagreements = 0;
  for (const { name, text } of cases) {
    const enc = await reference.encode(text, null, { addSpecialTokens: false });
    const ids = enc.getIds();
    const decoded = await reference.decode(ids, false);
    const jsIds = second.encode(text, { add_special_tokens: false }).ids;
    if (JSON.stringify(jsIds) !== JSON.stringify(ids)) {
      ++disagreements;
      console.error(`pure-JS port disagrees on: ${name}`);
    }
    encoded.push({ name, text, ids, decoded });
  }
  const decodeInputs = [
    ['empty', []],
    ['first two bytes of an emoji, then a letter', [...byteIds(0xf0, 0x9f), 64]],
    ['first three bytes of an emoji at the end', byteIds(0xf0, 0x9f, 0x98)],
    ['a lone continuation byte', byteIds(0x41, 0x80, 0x42)],
    ['two bytes of a three-byte character, then a space token', [...byteIds(0xe2, 0x82), 209]],
    ['an encoded surrogate', byteIds(0xed, 0xa0, 0x80)],
    ['past U+10FFFF', byteIds(0xf4, 0x90, 0x80, 0x80)],
    ['overlong encoding of slash', byteIds(0xe0, 0x80, 0xaf)],
    ['incomplete character before endoftext', [...byteIds(0xe2, 0x82), 0, ...byteIds(0xac)]],
    ['euro sign split over three tokens', byteIds(0xe2, 0x82, 0xac)],
    ['special and space tokens', [0, 50254, 1, 50276, 0]],
    ['emoji split over tokens', [14931, 235, 211]],
  ];
  const decodeCases = [];
  for (const [name, ids] of decodeInputs) decodeCases.push({ name, ids, decoded: await reference.decode(ids, false) });

  // One case per line, so that a regenerated file diffs readably.
  const lines = [];
  lines.push('{"tokenizer": "gpt-neox-20b.json",');
  lines.push(` "produced_by": ${JSON.stringify(REFERENCE + ' via tests/data/tokenizer/make_extra_cases.cjs')},`);
  lines.push(' "note": "ids = encode(text, add_special_tokens=false); decoded = decode(ids, skip_special_tokens=false)",');
  lines.push(' "cases": [');
  lines.push(encoded.map((c) => '  ' + JSON.stringify(c)).join(',\n'));
  lines.push(' ],');
  lines.push(' "decode_cases": [');
  lines.push(decodeCases.map((c) => '  ' + JSON.stringify(c)).join(',\n'));
  lines.push(' ]}');
  process.stdout.write(lines.join('\n') + '\n');
  console.error(`${encoded.length} cases, ${decodeCases.length} decode cases; the pure-JS port disagrees on ${disagreements}`);
})();
