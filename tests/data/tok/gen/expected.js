// Computes tests/data/tok/<name>.expected.json with the Hugging Face tokenizers library.
const {Tokenizer} = require('@anush008/tokenizers');
const fs = require('fs');
const dir = process.argv[2];
const common = [
  "hello world", " hello world", "Hello, World!!", "the cat's hat isn't here",
  "I'll be there, we'd've done it. DON'T SHOUT'S", "  two leading spaces", "trailing spaces   ",
  "tabs\tand\t\tmore\ttabs", "line one\nline two\n\nline four\r\nwindows\r\n",
  "numbers 1 12 123 1234 12345 and 3.14159", "café crème brûlée naïve",
  "日本語のテキスト 日本", "Ελληνικά κείμενα", "emoji 😀👍 ok", "(parens) [brackets] {braces}",
  "a<|endoftext|>b", "<|endoftext|>", "   \n  \n   x", "x\n\n\n", "'s's'S", "$100 — 50% off…",
  "mixed123abc 456def", "an unreachable goal", "\u00a0nbsp\u00a0\u2003em", "he said \"hi\"", " ", "", "\n",
  "x  \ty", "..!!??", "a'b'c", "é", "déjà vu in 2024"
];
const ms = ["the cat sat on the mat", " the cat", "  double", "T he Cat", "caf\u00e9 \u4e2d",
  "x", "", " ", "sitting, eating, and resting.", "a  b   c", "<s>the</s>", "a\u00a0b",
  "cat's", "ends with space "];
for (const name of ["bytelevel-gpt2", "bytelevel-llama3", "bytelevel-qwen2", "metaspace"]) {
  const tok = Tokenizer.fromFile(`${dir}/${name}.json`);
  const texts = name == "metaspace" ? ms : common;
  (async () => {
    const cases = [];
    for (const t of texts) {
      const e = await tok.encode(t, null, {addSpecialTokens: false});
      const ids = Array.from(e.getIds());
      const d = await tok.decode(ids, false);
      const c = {text: t, ids: ids};
      if (d !== t) c.roundtrip = false, c.hf_decoded = d;
      cases.push(c);
    }
    const withBos = await tok.encode("hello", null, {addSpecialTokens: true});
    const plain = await tok.encode("hello", null, {addSpecialTokens: false});
    const bosIds = Array.from(withBos.getIds());
    const bos = bosIds.length > plain.getIds().length ? bosIds[0] : -1;
    fs.writeFileSync(`${dir}/${name}.expected.json`,
      JSON.stringify({generator: "Hugging Face tokenizers (Rust, via the npm package @anush008/tokenizers 0.6.0)",
                      bos: bos, cases: cases}, null, 1) + "\n");
  })();
}
