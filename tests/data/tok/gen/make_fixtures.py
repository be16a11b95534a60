# Generates the hand-made tokenizer fixtures in tests/data/tok (run once; outputs committed).
import json, sys
out = sys.argv[1]

def bytes_to_unicode():
    bs = list(range(33, 127)) + list(range(161, 173)) + list(range(174, 256))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b); cs.append(256 + n); n += 1
    return dict(zip(bs, [chr(c) for c in cs]))

B2U = bytes_to_unicode()
def m(s):  # text -> mapped string
    return "".join(B2U[b] for b in s.encode("utf-8"))

def bytelevel_vocab(words, extra_tokens=()):
    vocab = {}
    for b in range(256):
        vocab[B2U[b]] = len(vocab)
    merges = []
    # merges that build each word left to right (pairs of mapped strings)
    for w in words:
        mw = m(w)
        cur = mw[0]
        for ch in mw[1:]:
            pair = (cur, ch)
            if cur + ch not in vocab:
                vocab[cur + ch] = len(vocab)
                merges.append(pair)
            cur = cur + ch
    for tkn in extra_tokens:
        if tkn not in vocab:
            vocab[tkn] = len(vocab)
    return vocab, merges

WORDS = [" the", "he", "in", " a", "er", "on", " w", "re", " s", "ll", "'s", " is", " hello",
         "hello", " world", "12", "123", " 1", "\n\n", "  ", ".\n", "ing", " t", "é", " café",
         "日本", " don", "'t", "\t", ",", " \"", "!!"]

def tok_json(vocab, merges, pre, post, dec, norm=None, added=(), ignore_merges=False,
             byte_fallback=False, unk=None, fuse_unk=False, merges_as_lists=False):
    return {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [{"id": i, "content": c, "single_word": False, "lstrip": False,
                          "rstrip": False, "normalized": False, "special": True}
                         for c, i in added],
        "normalizer": norm, "pre_tokenizer": pre, "post_processor": post, "decoder": dec,
        "model": {"type": "BPE", "dropout": None, "unk_token": unk,
                  "continuing_subword_prefix": None, "end_of_word_suffix": None,
                  "fuse_unk": fuse_unk, "byte_fallback": byte_fallback,
                  "ignore_merges": ignore_merges, "vocab": vocab,
                  "merges": [list(p) if merges_as_lists else p[0] + " " + p[1] for p in merges]},
    }

GPT2 = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+"
LLAMA3 = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
QWEN2 = LLAMA3.replace("\\p{N}{1,3}", "\\p{N}")

# 1. GPT-2: ByteLevel pre-tokenizer with its own regex
v, mg = bytelevel_vocab(WORDS)
eot = len(v); v["<|endoftext|>"] = eot
gpt2 = tok_json(v, mg, {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True,
                        "use_regex": True},
                {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False,
                 "use_regex": True},
                {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True,
                 "use_regex": True},
                added=[("<|endoftext|>", eot)])
json.dump(gpt2, open(out + "/bytelevel-gpt2.json", "w"), ensure_ascii=False, indent=1)

# 2. Llama-3: Split(regex) + ByteLevel(use_regex false), ignore_merges, BOS template,
#    merges as [a, b] lists, a vocabulary word that no merge builds
v, mg = bytelevel_vocab(WORDS, extra_tokens=[m(" unreachable")])
bos = len(v); v["<|begin_of_text|>"] = bos
eos = len(v); v["<|end_of_text|>"] = eos
llama3 = tok_json(v, mg,
                  {"type": "Sequence", "pretokenizers": [
                      {"type": "Split", "pattern": {"Regex": LLAMA3}, "behavior": "Isolated",
                       "invert": False},
                      {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True,
                       "use_regex": False}]},
                  {"type": "Sequence", "processors": [
                      {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False,
                       "use_regex": True},
                      {"type": "TemplateProcessing",
                       "single": [{"SpecialToken": {"id": "<|begin_of_text|>", "type_id": 0}},
                                  {"Sequence": {"id": "A", "type_id": 0}}],
                       "pair": [{"SpecialToken": {"id": "<|begin_of_text|>", "type_id": 0}},
                                {"Sequence": {"id": "A", "type_id": 0}},
                                {"SpecialToken": {"id": "<|begin_of_text|>", "type_id": 1}},
                                {"Sequence": {"id": "B", "type_id": 1}}],
                       "special_tokens": {"<|begin_of_text|>": {"id": "<|begin_of_text|>",
                                                                "ids": [bos],
                                                                "tokens": ["<|begin_of_text|>"]}}}]},
                  {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True,
                   "use_regex": True},
                  added=[("<|begin_of_text|>", bos), ("<|end_of_text|>", eos)],
                  ignore_merges=True, merges_as_lists=True)
json.dump(llama3, open(out + "/bytelevel-llama3.json", "w"), ensure_ascii=False, indent=1)

# 3. Qwen2: NFC normalizer, single-digit split, no BOS
v, mg = bytelevel_vocab(WORDS)
eot = len(v); v["<|endoftext|>"] = eot
qwen2 = tok_json(v, mg,
                 {"type": "Sequence", "pretokenizers": [
                     {"type": "Split", "pattern": {"Regex": QWEN2}, "behavior": "Isolated",
                      "invert": False},
                     {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False,
                      "use_regex": False}]},
                 {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False,
                  "use_regex": False},
                 {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False,
                  "use_regex": False},
                 norm={"type": "NFC"}, added=[("<|endoftext|>", eot)])
json.dump(qwen2, open(out + "/bytelevel-qwen2.json", "w"), ensure_ascii=False, indent=1)

# 4. Metaspace pre-tokenizer (split, prepend_scheme first), byte fallback, Metaspace decoder
vocab = {"<unk>": 0, "<s>": 1, "</s>": 2}
for b in range(256):
    vocab["<0x%02X>" % b] = len(vocab)
for ch in "▁abcdefghijklmnopqrstuvwxyzT.,'":
    vocab[ch] = len(vocab)
ms_merges = []
for w in ["▁the", "▁a", "er", "in", "ing", "▁s", "at", "▁cat", "▁sat", "on", "▁on", "he"]:
    cur = w[0]
    for ch in w[1:]:
        if cur + ch not in vocab:
            vocab[cur + ch] = len(vocab)
            ms_merges.append((cur, ch))
        cur += ch
ms = tok_json(vocab, ms_merges,
              {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": True},
              {"type": "TemplateProcessing",
               "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}},
                          {"Sequence": {"id": "A", "type_id": 0}}],
               "pair": [{"SpecialToken": {"id": "<s>", "type_id": 0}},
                        {"Sequence": {"id": "A", "type_id": 0}},
                        {"SpecialToken": {"id": "<s>", "type_id": 1}},
                        {"Sequence": {"id": "B", "type_id": 1}}],
               "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}}},
              {"type": "Sequence", "decoders": [
                  {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first",
                   "split": True},
                  {"type": "ByteFallback"}, {"type": "Fuse"}]},
              added=[("<unk>", 0), ("<s>", 1), ("</s>", 2)], byte_fallback=True,
              unk="<unk>", fuse_unk=True)
json.dump(ms, open(out + "/metaspace.json", "w"), ensure_ascii=False, indent=1)

# error fixtures
bad = dict(gpt2); bad["model"] = dict(gpt2["model"]); bad["model"]["type"] = "WordPiece"
json.dump(bad, open(out + "/bad-model.json", "w"), ensure_ascii=False)
bad = dict(qwen2); bad["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
    {"type": "Split", "pattern": {"Regex": "\\w+|\\s+"}, "behavior": "Isolated", "invert": False},
    {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False}]}
json.dump(bad, open(out + "/bad-regex.json", "w"), ensure_ascii=False)
