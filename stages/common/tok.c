/* tok.c - Hugging Face tokenizer.json: BPE encode/decode (see tok.h for the supported set).
 *
 * BPE.  A word's initial symbols are its characters (UTF-8 code points; ByteLevel: its bytes,
 * each mapped through GPT-2's byte-to-unicode table).  A character missing from the vocabulary
 * becomes its <0xNN> byte tokens (byte_fallback, when all exist), else <unk> (consecutive ones
 * fused into one when fuse_unk).  Merges then run exactly as the `tokenizers` library does:
 * a min-heap of (rank, position) candidates over a linked list of symbols, the lowest rank
 * first and the leftmost on ties, stale entries skipped when popped.  That is O(n log n) in the
 * word length, so a tokenizer without a pre-tokenizer (both bundled models: the whole text is
 * one "word", merges may span the "▁" markers) tokenizes a 1.3 MB file in a fraction of a
 * second.
 *
 * Pre-tokenizer regexes.  The GPT-2 pattern
 *     's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 * and the Llama-3 / Qwen2 pattern
 *     (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|
 *     \s*[\r\n]+|\s+(?!\S)|\s+                                  (Qwen2: \p{N} instead of {1,3})
 * are recognised by their exact text and run by hand-written scanners that follow the regex
 * semantics (first matching alternative, greedy runs, the one-character backtrack of
 * \s+(?!\S)).  The approximation is in the Unicode classes: \s is the exact White_Space set;
 * \p{N} is ASCII digits plus the common decimal-digit blocks, super/subscripts, vulgar fractions,
 * number forms, enclosed and fullwidth digits; \p{L} is ASCII letters plus every other code point
 * that is not \s, not \p{N} and not in a table of punctuation / symbol / mark / control /
 * private-use ranges (Latin-1 symbols, combining marks, general punctuation, currency, arrows,
 * math, box drawing, dingbats, CJK punctuation, fullwidth punctuation, emoji, ...).  So letters
 * of every script, CJK included, are exact; rare marks and symbols outside the table, and
 * unassigned code points, count as letters.  Any other Split regex is refused.
 *
 * Added tokens are matched leftmost-longest on the raw text (their lstrip/rstrip/single_word
 * flags are ignored; `normalized` tokens are also matched on the raw text, which is the same for
 * the supported normalizers unless a token contains a space).  Each text segment between added
 * tokens is normalized and pre-tokenized on its own, as the library does.
 *
 * decode(encode(x)) == x holds whenever no <unk> is produced (byte fallback or ByteLevel makes
 * every text representable); an <unk> decodes as its piece text. */
#include "mint/tok.h"

#include <stdlib.h>
#include <string.h>

#include "mint/err.h"
#include "mint/hash.h"
#include "mint/json.h"

enum norm_kind { NORM_PREPEND, NORM_REPLACE };
struct norm {
    enum norm_kind kind;
    char *a, *b; /* prepend: a; replace: a -> b */
    size_t alen, blen;
};

enum pre_kind { PRE_NONE, PRE_METASPACE, PRE_BYTELEVEL };
enum split_kind { SPLIT_NONE, SPLIT_GPT2, SPLIT_LLAMA3, SPLIT_QWEN2 };
enum ms_scheme { MS_ALWAYS, MS_FIRST, MS_NEVER };

enum dec_kind { DEC_REPLACE, DEC_BYTEFALLBACK, DEC_FUSE, DEC_STRIP, DEC_METASPACE,
                DEC_BYTELEVEL };
struct dec {
    enum dec_kind kind;
    char *a, *b;
    size_t alen, blen;
    int start, stop;  /* Strip */
    int prepend;      /* Metaspace: strip the first token's leading space */
};

struct added {
    int32_t id;
    const char *s; /* points into pieces */
    size_t len;
};

struct mint_tok {
    int32_t n_ids;
    char **piece;      /* (n_ids) NUL-terminated, NULL for unused ids */
    uint32_t *plen;    /* (n_ids) */
    uint32_t vcap;     /* vocab hash: power of two */
    int32_t *vslot;    /* (vcap) id or -1 */
    uint32_t mcap;     /* merge hash: power of two */
    uint64_t *mkey;    /* (mcap) (left << 32 | right), UINT64_MAX empty */
    uint32_t *mrank;
    int32_t *mnew;
    int32_t unk, bos;
    int fuse_unk, byte_fallback, ignore_merges;
    int32_t byte_tok[256];   /* <0xNN> ids, -1 absent */
    struct norm *norm;
    size_t n_norm;
    enum pre_kind pre;
    enum split_kind split;
    char ms_repl[8];
    size_t ms_len;
    enum ms_scheme ms_scheme;
    int ms_split;
    int bl_prefix;
    int32_t bl_id[256];      /* id of each byte's mapped character, -1 absent */
    uint16_t bl_cp[256];     /* byte -> code point */
    int16_t bl_byte[512];    /* code point -> byte, -1 */
    struct dec *dec;
    size_t n_dec;
    struct added *added;
    size_t n_added;
    uint8_t added_first[256]; /* byte can start an added token */
};

/* ---------------------------------------------------------------- small buffers */

struct ivec {
    int32_t *v;
    size_t n, cap;
};

static int ivec_push(struct ivec *a, int32_t x)
{
    if (a->n == a->cap) {
        size_t nc = a->cap ? a->cap * 2 : 256;
        int32_t *nv = realloc(a->v, nc * sizeof *nv);
        if (!nv)
            return -1;
        a->v = nv;
        a->cap = nc;
    }
    a->v[a->n++] = x;
    return 0;
}

struct sbuf {
    char *p;
    size_t n, cap;
};

static int sbuf_add(struct sbuf *b, const void *s, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        size_t nc = b->cap ? b->cap : 256;
        while (nc < b->n + n + 1)
            nc *= 2;
        char *np = realloc(b->p, nc);
        if (!np)
            return -1;
        b->p = np;
        b->cap = nc;
    }
    if (n)
        memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
    return 0;
}

/* ---------------------------------------------------------------- UTF-8 and classes */

/* Length of the UTF-8 character at s (1 for an invalid byte); its code point in *cp
 * (0xFFFFFFFF for an invalid byte). */
static size_t utf8_char(const unsigned char *s, size_t n, uint32_t *cp)
{
    unsigned c = s[0];
    size_t len;
    uint32_t v, min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xC2 && c < 0xE0)
        len = 2, v = c & 0x1F, min = 0x80;
    else if (c >= 0xE0 && c < 0xF0)
        len = 3, v = c & 0x0F, min = 0x800;
    else if (c >= 0xF0 && c < 0xF5)
        len = 4, v = c & 0x07, min = 0x10000;
    else {
        *cp = 0xFFFFFFFFu;
        return 1;
    }
    if (len > n) {
        *cp = 0xFFFFFFFFu;
        return 1;
    }
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) {
            *cp = 0xFFFFFFFFu;
            return 1;
        }
        v = v << 6 | (s[i] & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v < 0xE000)) {
        *cp = 0xFFFFFFFFu;
        return 1;
    }
    *cp = v;
    return len;
}

static size_t utf8_put(uint32_t cp, char *out)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | cp >> 12);
        out[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | cp >> 18);
    out[1] = (char)(0x80 | (cp >> 12 & 0x3F));
    out[2] = (char)(0x80 | (cp >> 6 & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

static int utf8_valid(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        i += utf8_char(s + i, n - i, &cp);
        if (cp == 0xFFFFFFFFu)
            return 0;
    }
    return 1;
}

struct range {
    uint32_t lo, hi;
};

static int in_ranges(uint32_t c, const struct range *r, size_t n)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (c < r[mid].lo)
            hi = mid;
        else if (c > r[mid].hi)
            lo = mid + 1;
        else
            return 1;
    }
    return 0;
}

static int cp_space(uint32_t c)
{
    return c == ' ' || (c >= 9 && c <= 13) || c == 0x85 || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
           c == 0x205F || c == 0x3000;
}

/* \p{N} (approximate, see the header comment); sorted, disjoint */
static const struct range num_ranges[] = {
    {0x30, 0x39},       {0xB2, 0xB3},       {0xB9, 0xB9},       {0xBC, 0xBE},
    {0x660, 0x669},     {0x6F0, 0x6F9},     {0x7C0, 0x7C9},     {0x966, 0x96F},
    {0x9E6, 0x9EF},     {0xA66, 0xA6F},     {0xAE6, 0xAEF},     {0xB66, 0xB6F},
    {0xBE6, 0xBF2},     {0xC66, 0xC6F},     {0xCE6, 0xCEF},     {0xD66, 0xD78},
    {0xDE6, 0xDEF},     {0xE50, 0xE59},     {0xED0, 0xED9},     {0xF20, 0xF33},
    {0x1040, 0x1049},   {0x1090, 0x1099},   {0x1369, 0x137C},   {0x16EE, 0x16F0},
    {0x17E0, 0x17E9},   {0x1810, 0x1819},   {0x1946, 0x194F},   {0x19D0, 0x19DA},
    {0x1A80, 0x1A99},   {0x1B50, 0x1B59},   {0x1BB0, 0x1BB9},   {0x1C40, 0x1C49},
    {0x1C50, 0x1C59},   {0x2070, 0x2070},   {0x2074, 0x2079},   {0x2080, 0x2089},
    {0x2150, 0x2182},   {0x2185, 0x2189},   {0x2460, 0x249B},   {0x24EA, 0x24FF},
    {0x2776, 0x2793},   {0x2CFD, 0x2CFD},   {0x3007, 0x3007},   {0x3021, 0x3029},
    {0x3038, 0x303A},   {0x3192, 0x3195},   {0x3220, 0x3229},   {0x3248, 0x324F},
    {0x3251, 0x325F},   {0x3280, 0x3289},   {0x32B1, 0x32BF},   {0xA620, 0xA629},
    {0xA6E6, 0xA6EF},   {0xA8D0, 0xA8D9},   {0xA900, 0xA909},   {0xA9D0, 0xA9D9},
    {0xAA50, 0xAA59},   {0xABF0, 0xABF9},   {0xFF10, 0xFF19},   {0x1D7CE, 0x1D7FF},
    {0x1F100, 0x1F10C},
};

/* Neither \p{L} nor \p{N} nor \s: punctuation, symbols, marks, controls, private use
 * (approximate, see the header comment); sorted, disjoint */
static const struct range other_ranges[] = {
    {0x80, 0xA9},       {0xAB, 0xB4},       {0xB6, 0xB9},       {0xBB, 0xBF},
    {0xD7, 0xD7},       {0xF7, 0xF7},       {0x2C2, 0x2C5},     {0x2D2, 0x2DF},
    {0x2E5, 0x2EB},     {0x2ED, 0x2ED},     {0x2EF, 0x36F},     {0x375, 0x375},
    {0x37E, 0x37E},     {0x384, 0x385},     {0x387, 0x387},     {0x3F6, 0x3F6},
    {0x482, 0x489},     {0x55A, 0x55F},     {0x589, 0x58F},     {0x591, 0x5C7},
    {0x5F3, 0x5F4},     {0x600, 0x61F},     {0x64B, 0x65F},     {0x66A, 0x66D},
    {0x670, 0x670},     {0x6D4, 0x6D4},     {0x6D6, 0x6E4},     {0x6E7, 0x6ED},
    {0x6FD, 0x6FE},     {0x700, 0x70F},     {0x711, 0x711},     {0x730, 0x74A},
    {0x7A6, 0x7B0},     {0x7EB, 0x7F3},     {0x7F6, 0x7F9},     {0x900, 0x903},
    {0x93A, 0x93C},     {0x93E, 0x94F},     {0x951, 0x957},     {0x962, 0x965},
    {0x970, 0x970},     {0x981, 0x983},     {0x9BC, 0x9BC},     {0x9BE, 0x9CD},
    {0x9D7, 0x9D7},     {0x9E2, 0x9E3},     {0x9F2, 0x9FB},     {0xA01, 0xA03},
    {0xA3C, 0xA51},     {0xA70, 0xA71},     {0xA75, 0xA76},     {0xA81, 0xA83},
    {0xABC, 0xABC},     {0xABE, 0xACD},     {0xAE2, 0xAE3},     {0xAF0, 0xAF1},
    {0xB01, 0xB03},     {0xB3C, 0xB3C},     {0xB3E, 0xB57},     {0xB62, 0xB63},
    {0xB82, 0xB82},     {0xBBE, 0xBCD},     {0xBD7, 0xBD7},     {0xBF3, 0xBFA},
    {0xC00, 0xC04},     {0xC3E, 0xC56},     {0xC62, 0xC63},     {0xC81, 0xC83},
    {0xCBC, 0xCBC},     {0xCBE, 0xCD6},     {0xCE2, 0xCE3},     {0xD00, 0xD03},
    {0xD3B, 0xD3C},     {0xD3E, 0xD4D},     {0xD57, 0xD57},     {0xD62, 0xD63},
    {0xD79, 0xD79},     {0xE31, 0xE31},     {0xE34, 0xE3F},     {0xE47, 0xE4F},
    {0xE5A, 0xE5B},     {0xEB1, 0xEB1},     {0xEB4, 0xEBC},     {0xEC8, 0xECE},
    {0xF01, 0xF1F},     {0xF34, 0xF3F},     {0xF71, 0xF87},     {0xF8D, 0xFDA},
    {0x102B, 0x103E},   {0x104A, 0x104F},   {0x10FB, 0x10FB},   {0x1360, 0x1368},
    {0x166D, 0x166E},   {0x169B, 0x169C},   {0x16EB, 0x16ED},   {0x17B4, 0x17D3},
    {0x17D4, 0x17D6},   {0x17D8, 0x17DB},   {0x17DD, 0x17DD},   {0x1800, 0x180F},
    {0x1AB0, 0x1AFF},   {0x1DC0, 0x1DFF},   {0x1FBD, 0x1FBD},   {0x1FBF, 0x1FC1},
    {0x1FCD, 0x1FCF},   {0x1FDD, 0x1FDF},   {0x1FED, 0x1FEF},   {0x1FFD, 0x1FFE},
    {0x200B, 0x2027},   {0x202A, 0x202E},   {0x2030, 0x205E},   {0x2060, 0x206F},
    {0x207A, 0x207E},   {0x208A, 0x208E},   {0x20A0, 0x20FF},   {0x2100, 0x2101},
    {0x2103, 0x2106},   {0x2108, 0x2109},   {0x2114, 0x2114},   {0x2116, 0x2118},
    {0x211E, 0x2123},   {0x2125, 0x2125},   {0x2127, 0x2127},   {0x2129, 0x2129},
    {0x212E, 0x212E},   {0x213A, 0x213B},   {0x2140, 0x2144},   {0x214A, 0x214D},
    {0x214F, 0x214F},   {0x218A, 0x218B},   {0x2190, 0x245F},   {0x249C, 0x24E9},
    {0x2500, 0x2775},   {0x2794, 0x2BFF},   {0x2CE5, 0x2CEA},   {0x2CEF, 0x2CF1},
    {0x2CF9, 0x2CFC},   {0x2CFE, 0x2CFF},   {0x2D70, 0x2D70},   {0x2D7F, 0x2D7F},
    {0x2DE0, 0x2E2E},   {0x2E30, 0x2E7F},   {0x2E80, 0x2FFF},   {0x3001, 0x3004},
    {0x3008, 0x3020},   {0x302A, 0x3030},   {0x3036, 0x3037},   {0x303D, 0x303F},
    {0x3099, 0x309C},   {0x30A0, 0x30A0},   {0x30FB, 0x30FB},   {0x3190, 0x3191},
    {0x3196, 0x319F},   {0x31C0, 0x31EF},   {0x3200, 0x321F},   {0x322A, 0x3247},
    {0x3250, 0x3250},   {0x3260, 0x327F},   {0x328A, 0x32B0},   {0x32C0, 0x33FF},
    {0x4DC0, 0x4DFF},   {0xA490, 0xA4CF},   {0xA4FE, 0xA4FF},   {0xA60D, 0xA60F},
    {0xA66F, 0xA67E},   {0xA69E, 0xA69F},   {0xA6F0, 0xA6F7},   {0xA700, 0xA716},
    {0xA720, 0xA721},   {0xA789, 0xA78A},   {0xA802, 0xA802},   {0xA806, 0xA806},
    {0xA80B, 0xA80B},   {0xA823, 0xA82C},   {0xA830, 0xA839},   {0xA874, 0xA877},
    {0xA880, 0xA881},   {0xA8B4, 0xA8C5},   {0xA8CE, 0xA8CF},   {0xA8E0, 0xA8F1},
    {0xA8F8, 0xA8FA},   {0xA8FC, 0xA8FC},   {0xA926, 0xA92F},   {0xA947, 0xA95F},
    {0xA980, 0xA983},   {0xA9B3, 0xA9CD},   {0xA9DE, 0xA9DF},   {0xAA29, 0xAA36},
    {0xAA43, 0xAA43},   {0xAA4C, 0xAA4D},   {0xAA5C, 0xAA5F},   {0xAAEB, 0xAAF1},
    {0xAAF5, 0xAAF6},   {0xABE3, 0xABED},   {0xD800, 0xF8FF},   {0xFB1E, 0xFB1E},
    {0xFB29, 0xFB29},   {0xFBB2, 0xFBC2},   {0xFD3E, 0xFD4F},   {0xFDCF, 0xFDCF},
    {0xFDFC, 0xFDFF},   {0xFE00, 0xFE6F},   {0xFEFF, 0xFEFF},   {0xFF01, 0xFF0F},
    {0xFF1A, 0xFF20},   {0xFF3B, 0xFF40},   {0xFF5B, 0xFF65},   {0xFFE0, 0xFFFF},
    {0x10100, 0x1013F}, {0x1D000, 0x1D1FF}, {0x1D200, 0x1D24F}, {0x1D300, 0x1D35F},
    {0x1EC70, 0x1ECBF}, {0x1EE00, 0x1EEFF}, {0x1F000, 0x1F0FF}, {0x1F10D, 0x1FBFF},
    {0xE0000, 0xE0FFF}, {0xF0000, 0x10FFFF},
};

enum { CL_SPACE, CL_LETTER, CL_NUMBER, CL_OTHER };

static int cp_class(uint32_t c)
{
    if (c < 0x80) {
        if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z')
            return CL_LETTER;
        if (c >= '0' && c <= '9')
            return CL_NUMBER;
        if (cp_space(c))
            return CL_SPACE;
        return CL_OTHER;
    }
    if (c == 0xFFFFFFFFu)
        return CL_OTHER;
    if (cp_space(c))
        return CL_SPACE;
    if (in_ranges(c, num_ranges, sizeof num_ranges / sizeof *num_ranges))
        return CL_NUMBER;
    if (in_ranges(c, other_ranges, sizeof other_ranges / sizeof *other_ranges))
        return CL_OTHER;
    return CL_LETTER;
}

/* Character at s[i] (i < n): class, code point, byte length. */
static int char_at(const char *s, size_t n, size_t i, uint32_t *cp, size_t *cl)
{
    *cl = utf8_char((const unsigned char *)s + i, n - i, cp);
    return cp_class(*cp);
}

/* ---------------------------------------------------------------- hashes */

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 31;
    return x;
}

static int32_t vocab_get(const struct mint_tok *t, const char *s, size_t n)
{
    uint32_t mask = t->vcap - 1, h = (uint32_t)mint_hash64(s, n, 0) & mask;
    for (;; h = (h + 1) & mask) {
        int32_t id = t->vslot[h];
        if (id < 0)
            return -1;
        if (t->plen[id] == n && !memcmp(t->piece[id], s, n))
            return id;
    }
}

static void vocab_put(struct mint_tok *t, int32_t id)
{
    uint32_t mask = t->vcap - 1, h = (uint32_t)mint_hash64(t->piece[id], t->plen[id], 0) & mask;
    while (t->vslot[h] >= 0)
        h = (h + 1) & mask;
    t->vslot[h] = id;
}

/* rank of the merge (l, r) and its result, or 0 if none */
static inline int merge_get(const struct mint_tok *t, int32_t l, int32_t r, uint32_t *rank,
                            int32_t *nw)
{
    uint64_t key = (uint64_t)(uint32_t)l << 32 | (uint32_t)r;
    uint32_t mask = t->mcap - 1, h = (uint32_t)mix64(key) & mask;
    for (;; h = (h + 1) & mask) {
        if (t->mkey[h] == UINT64_MAX)
            return 0;
        if (t->mkey[h] == key) {
            *rank = t->mrank[h];
            *nw = t->mnew[h];
            return 1;
        }
    }
}

/* ---------------------------------------------------------------- BPE on one word */

struct sym {
    int32_t id;   /* -1: merged away */
    int32_t prev, next;
};

/* heap entries: rank << 32 | position, so one integer comparison orders by rank, then
 * leftmost position (the library's tie-break) */
typedef uint64_t cand_t;

struct bpe_ws {
    struct sym *sym;
    size_t n, cap;
    cand_t *heap;
    size_t hn, hcap;
    struct sbuf tmp;
    int pending_unk;
};

static int sym_push(struct bpe_ws *w, int32_t id)
{
    if (w->n == w->cap) {
        size_t nc = w->cap ? w->cap * 2 : 1024;
        struct sym *ns = realloc(w->sym, nc * sizeof *ns);
        if (!ns)
            return -1;
        w->sym = ns;
        w->cap = nc;
    }
    w->sym[w->n++].id = id;
    return 0;
}

/* 4-ary min-heap (shallower than binary: fewer cache misses on million-entry heaps) */
static int heap_push(struct bpe_ws *w, uint32_t rank, uint32_t pos)
{
    if (w->hn == w->hcap) {
        size_t nc = w->hcap ? w->hcap * 2 : 1024;
        cand_t *nh = realloc(w->heap, nc * sizeof *nh);
        if (!nh)
            return -1;
        w->heap = nh;
        w->hcap = nc;
    }
    cand_t c = (cand_t)rank << 32 | pos;
    size_t i = w->hn++;
    while (i > 0) {
        size_t p = (i - 1) / 4;
        if (c >= w->heap[p])
            break;
        w->heap[i] = w->heap[p];
        i = p;
    }
    w->heap[i] = c;
    return 0;
}

/* move the entry x down from slot i (heap of n entries) */
static void heap_sift(cand_t *h, size_t n, size_t i, cand_t x)
{
    for (;;) {
        size_t c = 4 * i + 1, e = c + 4 < n ? c + 4 : n, b = c;
        if (c >= n)
            break;
        for (size_t k = c + 1; k < e; k++)
            if (h[k] < h[b])
                b = k;
        if (h[b] >= x)
            break;
        h[i] = h[b];
        i = b;
    }
    h[i] = x;
}

static cand_t heap_pop(struct bpe_ws *w)
{
    cand_t top = w->heap[0], last = w->heap[--w->hn];
    if (w->hn)
        heap_sift(w->heap, w->hn, 0, last);
    return top;
}

/* Add the initial symbols of one character (bytes s[0..n)). */
static int add_char(const struct mint_tok *t, struct bpe_ws *w, const char *s, size_t n,
                    int32_t id, struct mint_err *err)
{
    if (id >= 0) {
        if (w->pending_unk) {
            w->pending_unk = 0;
            if (sym_push(w, t->unk) < 0)
                goto oom;
        }
        if (sym_push(w, id) < 0)
            goto oom;
        return 0;
    }
    if (t->byte_fallback) {
        size_t k;
        for (k = 0; k < n && t->byte_tok[(unsigned char)s[k]] >= 0; k++)
            ;
        if (k == n) {
            if (w->pending_unk) {
                w->pending_unk = 0;
                if (sym_push(w, t->unk) < 0)
                    goto oom;
            }
            for (k = 0; k < n; k++)
                if (sym_push(w, t->byte_tok[(unsigned char)s[k]]) < 0)
                    goto oom;
            return 0;
        }
    }
    if (t->unk < 0) {
        uint32_t cp;
        utf8_char((const unsigned char *)s, n, &cp);
        return mint_err_set(err, "character U+%04X is not in the vocabulary and there is no "
                                 "unk token", (unsigned)cp);
    }
    if (w->pending_unk && !t->fuse_unk)
        if (sym_push(w, t->unk) < 0)
            goto oom;
    w->pending_unk = 1;
    return 0;
oom:
    return mint_err_setc(err, MINT_EXIT_IO, "out of memory");
}

static int flush_unk(const struct mint_tok *t, struct bpe_ws *w, struct mint_err *err)
{
    if (w->pending_unk) {
        w->pending_unk = 0;
        if (sym_push(w, t->unk) < 0)
            return mint_err_setc(err, MINT_EXIT_IO, "out of memory");
    }
    return 0;
}

/* Merge the symbols in w and append the result to out. */
static int bpe_run(const struct mint_tok *t, struct bpe_ws *w, struct ivec *out,
                   struct mint_err *err)
{
    struct sym *S = w->sym;
    size_t n = w->n;
    uint32_t rank;
    int32_t nw;

    if (n >= 0x7fffffffu)
        return mint_err_set(err, "text segment too long (%zu symbols)", n);
    w->hn = 0;
    if (w->hcap < n) {
        cand_t *nh = realloc(w->heap, n * sizeof *nh);
        if (!nh)
            goto oom;
        w->heap = nh;
        w->hcap = n;
    }
    for (size_t i = 0; i < n; i++) {
        S[i].prev = (int32_t)i - 1;
        S[i].next = i + 1 < n ? (int32_t)i + 1 : -1;
        if (i + 1 < n && merge_get(t, S[i].id, S[i + 1].id, &rank, &nw))
            w->heap[w->hn++] = (cand_t)rank << 32 | (uint32_t)i;
    }
    for (size_t i = w->hn / 4 + 1; i-- > 0;) /* heapify bottom-up, O(n) */
        if (i < w->hn)
            heap_sift(w->heap, w->hn, i, w->heap[i]);
    while (w->hn) {
        cand_t c = heap_pop(w);
        uint32_t cpos = (uint32_t)c, crank = (uint32_t)(c >> 32);
        struct sym *a = &S[cpos];
        if (a->id < 0 || a->next < 0)
            continue;
        struct sym *b = &S[a->next];
        if (!merge_get(t, a->id, b->id, &rank, &nw) || rank != crank)
            continue;
        a->id = nw;
        a->next = b->next;
        if (b->next >= 0)
            S[b->next].prev = (int32_t)cpos;
        b->id = -1;
        if (a->prev >= 0 && merge_get(t, S[a->prev].id, a->id, &rank, &nw))
            if (heap_push(w, rank, (uint32_t)a->prev) < 0)
                goto oom;
        if (a->next >= 0 && merge_get(t, a->id, S[a->next].id, &rank, &nw))
            if (heap_push(w, rank, cpos) < 0)
                goto oom;
    }
    for (int32_t i = n ? 0 : -1; i >= 0; i = S[i].next)
        if (ivec_push(out, S[i].id) < 0)
            goto oom;
    return 0;
oom:
    return mint_err_setc(err, MINT_EXIT_IO, "out of memory");
}

/* A word of characters (no pre-tokenizer, Metaspace). */
static int bpe_chars(const struct mint_tok *t, struct bpe_ws *w, const char *s, size_t n,
                     struct ivec *out, struct mint_err *err)
{
    if (!n)
        return 0;
    if (t->ignore_merges) {
        int32_t id = vocab_get(t, s, n);
        if (id >= 0)
            return ivec_push(out, id) < 0 ? mint_err_setc(err, MINT_EXIT_IO, "out of memory")
                                          : 0;
    }
    w->n = 0;
    w->pending_unk = 0;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t cl = utf8_char((const unsigned char *)s + i, n - i, &cp);
        int32_t id = vocab_get(t, s + i, cl);
        if (add_char(t, w, s + i, cl, id, err) < 0)
            return -1;
        i += cl;
    }
    if (flush_unk(t, w, err) < 0)
        return -1;
    return bpe_run(t, w, out, err);
}

/* A word of raw bytes, ByteLevel-mapped. */
static int bpe_bytes(const struct mint_tok *t, struct bpe_ws *w, const char *s, size_t n,
                     struct ivec *out, struct mint_err *err)
{
    if (!n)
        return 0;
    if (t->ignore_merges) {
        w->tmp.n = 0;
        for (size_t i = 0; i < n; i++) {
            char u[4];
            size_t k = utf8_put(t->bl_cp[(unsigned char)s[i]], u);
            if (sbuf_add(&w->tmp, u, k) < 0)
                return mint_err_setc(err, MINT_EXIT_IO, "out of memory");
        }
        int32_t id = vocab_get(t, w->tmp.p, w->tmp.n);
        if (id >= 0)
            return ivec_push(out, id) < 0 ? mint_err_setc(err, MINT_EXIT_IO, "out of memory")
                                          : 0;
    }
    w->n = 0;
    w->pending_unk = 0;
    for (size_t i = 0; i < n; i++) {
        int32_t id = t->bl_id[(unsigned char)s[i]];
        if (id >= 0) {
            if (flush_unk(t, w, err) < 0 || sym_push(w, id) < 0)
                return mint_err_setc(err, MINT_EXIT_IO, "out of memory");
        } else if (t->unk >= 0) {
            if (w->pending_unk && !t->fuse_unk && sym_push(w, t->unk) < 0)
                return mint_err_setc(err, MINT_EXIT_IO, "out of memory");
            w->pending_unk = 1;
        } else {
            return mint_err_set(err, "byte 0x%02X has no ByteLevel token and there is no unk "
                                     "token", (unsigned char)s[i]);
        }
    }
    if (flush_unk(t, w, err) < 0)
        return -1;
    return bpe_run(t, w, out, err);
}

/* ---------------------------------------------------------------- pre-tokenizer scanners */

static size_t ws_run(const char *s, size_t n, size_t p, size_t *last_start, size_t *nl_end)
{
    /* end of the whitespace run at p; start of its last character; end of its last CR/LF
     * (0 when it has none) */
    size_t e = p;
    *nl_end = 0;
    *last_start = p;
    while (e < n) {
        uint32_t cp;
        size_t cl;
        if (char_at(s, n, e, &cp, &cl) != CL_SPACE)
            break;
        *last_start = e;
        e += cl;
        if (cp == '\r' || cp == '\n')
            *nl_end = e;
    }
    return e;
}

static size_t class_run(const char *s, size_t n, size_t p, int cls, size_t max_chars)
{
    size_t k = 0;
    while (p < n && k < max_chars) {
        uint32_t cp;
        size_t cl;
        if (char_at(s, n, p, &cp, &cl) != cls)
            break;
        p += cl;
        k++;
    }
    return p;
}

static size_t contraction(const char *s, size_t n, size_t p, int icase)
{
    /* 's 't 're 've 'm 'll 'd at p (s[p] == '\''); returns the end or 0 */
    char a = p + 1 < n ? s[p + 1] : 0, b = p + 2 < n ? s[p + 2] : 0;
    if (icase) {
        a = (a >= 'A' && a <= 'Z') ? (char)(a + 32) : a;
        b = (b >= 'A' && b <= 'Z') ? (char)(b + 32) : b;
    }
    if (a == 's' || a == 't' || a == 'm' || a == 'd')
        return p + 2;
    if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l'))
        return p + 3;
    return 0;
}

/* One match of the GPT-2 pattern at p < n; returns its end. */
static size_t scan_gpt2(const char *s, size_t n, size_t p)
{
    uint32_t cp;
    size_t cl, e, last, nl;
    int k = char_at(s, n, p, &cp, &cl);
    if (cp == '\'' && (e = contraction(s, n, p, 0)))
        return e;
    size_t q = p;
    if (cp == ' ' && p + 1 < n) {
        uint32_t cp2;
        size_t cl2;
        int k2 = char_at(s, n, p + 1, &cp2, &cl2);
        if (k2 != CL_SPACE) {
            q = p + 1;
            k = k2;
        }
    }
    if (k != CL_SPACE)
        return class_run(s, n, q, k, SIZE_MAX);
    e = ws_run(s, n, p, &last, &nl);
    if (e == n || last == p)
        return e;
    return last; /* \s+(?!\S): leave the last whitespace character for the next match */
}

/* One match of the Llama-3 (max_digits 3) / Qwen2 (1) pattern at p < n. */
static size_t scan_llama3(const char *s, size_t n, size_t p, size_t max_digits)
{
    uint32_t cp, cp2 = 0;
    size_t cl, cl2 = 0, e, last, nl;
    int k = char_at(s, n, p, &cp, &cl), k2 = -1;
    if (p + cl < n)
        k2 = char_at(s, n, p + cl, &cp2, &cl2);
    if (cp == '\'' && (e = contraction(s, n, p, 1)))
        return e;
    if (k == CL_LETTER)
        return class_run(s, n, p, CL_LETTER, SIZE_MAX);
    if (k != CL_NUMBER && cp != '\r' && cp != '\n' && k2 == CL_LETTER)
        return class_run(s, n, p + cl, CL_LETTER, SIZE_MAX);
    if (k == CL_NUMBER)
        return class_run(s, n, p, CL_NUMBER, max_digits);
    if (k == CL_OTHER || (cp == ' ' && k2 == CL_OTHER)) {
        e = class_run(s, n, k == CL_OTHER ? p : p + 1, CL_OTHER, SIZE_MAX);
        while (e < n && (s[e] == '\r' || s[e] == '\n'))
            e++;
        return e;
    }
    /* whitespace */
    e = ws_run(s, n, p, &last, &nl);
    if (nl)
        return nl;
    if (e == n || last == p)
        return e;
    return last;
}

/* ---------------------------------------------------------------- encode */

struct enc {
    const struct mint_tok *t;
    struct bpe_ws w;
    struct ivec out;
    struct sbuf a, b;
};

static int encode_words_bytelevel(struct enc *E, const char *s, size_t n, struct mint_err *err)
{
    const struct mint_tok *t = E->t;
    if (t->split == SPLIT_NONE)
        return bpe_bytes(t, &E->w, s, n, &E->out, err);
    for (size_t p = 0; p < n;) {
        size_t e = t->split == SPLIT_GPT2     ? scan_gpt2(s, n, p)
                   : t->split == SPLIT_LLAMA3 ? scan_llama3(s, n, p, 3)
                                              : scan_llama3(s, n, p, 1);
        MINT_ASSERT(e > p && e <= n);
        if (bpe_bytes(t, &E->w, s + p, e - p, &E->out, err) < 0)
            return -1;
        p = e;
    }
    return 0;
}

/* Normalize + pre-tokenize + BPE one segment (no added tokens inside). */
static int encode_segment(struct enc *E, const char *s, size_t n, int first,
                          struct mint_err *err)
{
    const struct mint_tok *t = E->t;
    struct sbuf *cur = NULL;
    if (!n)
        return 0;
    for (size_t i = 0; i < t->n_norm; i++) {
        const struct norm *nm = &t->norm[i];
        struct sbuf *dst = cur == &E->a ? &E->b : &E->a;
        dst->n = 0;
        if (nm->kind == NORM_PREPEND) {
            if (n && (sbuf_add(dst, nm->a, nm->alen) < 0 || sbuf_add(dst, s, n) < 0))
                goto oom;
        } else {
            size_t i0 = 0;
            for (size_t j = 0; nm->alen && j + nm->alen <= n;) {
                if (!memcmp(s + j, nm->a, nm->alen)) {
                    if (sbuf_add(dst, s + i0, j - i0) < 0 || sbuf_add(dst, nm->b, nm->blen) < 0)
                        goto oom;
                    j += nm->alen;
                    i0 = j;
                } else {
                    j++;
                }
            }
            if (sbuf_add(dst, s + i0, n - i0) < 0)
                goto oom;
        }
        cur = dst;
        s = cur->p;
        n = cur->n;
    }
    if (t->pre == PRE_METASPACE) {
        struct sbuf *dst = cur == &E->a ? &E->b : &E->a;
        dst->n = 0;
        /* as the library does: spaces are replaced first, then the marker is prepended
         * unless the result already starts with one (so " x" gets one marker, not two) */
        int prep = t->ms_scheme == MS_ALWAYS || (t->ms_scheme == MS_FIRST && first);
        if (prep && s[0] != ' ' && !(n >= t->ms_len && !memcmp(s, t->ms_repl, t->ms_len)))
            if (sbuf_add(dst, t->ms_repl, t->ms_len) < 0)
                goto oom;
        for (size_t j = 0; j < n; j++)
            if (s[j] == ' ' ? sbuf_add(dst, t->ms_repl, t->ms_len) < 0
                            : sbuf_add(dst, s + j, 1) < 0)
                goto oom;
        s = dst->p;
        n = dst->n;
        if (!t->ms_split)
            return bpe_chars(t, &E->w, s, n, &E->out, err);
        /* split before every replacement marker (merged with the next piece) */
        size_t p0 = 0;
        for (size_t j = 1; j + t->ms_len <= n; j++)
            if (!memcmp(s + j, t->ms_repl, t->ms_len)) {
                if (bpe_chars(t, &E->w, s + p0, j - p0, &E->out, err) < 0)
                    return -1;
                p0 = j;
            }
        return bpe_chars(t, &E->w, s + p0, n - p0, &E->out, err);
    }
    if (t->pre == PRE_BYTELEVEL) {
        if (t->bl_prefix && n && s[0] != ' ') {
            struct sbuf *dst = cur == &E->a ? &E->b : &E->a;
            dst->n = 0;
            if (sbuf_add(dst, " ", 1) < 0 || sbuf_add(dst, s, n) < 0)
                goto oom;
            s = dst->p;
            n = dst->n;
        }
        return encode_words_bytelevel(E, s, n, err);
    }
    return bpe_chars(t, &E->w, s, n, &E->out, err);
oom:
    return mint_err_setc(err, MINT_EXIT_IO, "out of memory");
}

int mint_tok_encode(const struct mint_tok *t, const char *text, size_t len, int32_t **ids,
                    size_t *n, struct mint_err *err)
{
    struct enc E;
    size_t seg = 0;
    int rc = 0;
    memset(&E, 0, sizeof E);
    E.t = t;
    for (size_t i = 0; i < len && rc == 0;) {
        const struct added *best = NULL;
        if (t->added_first[(unsigned char)text[i]])
            for (size_t k = 0; k < t->n_added; k++) {
                const struct added *a = &t->added[k];
                if (a->len <= len - i && (!best || a->len > best->len) &&
                    !memcmp(text + i, a->s, a->len))
                    best = a;
            }
        if (!best) {
            i++;
            continue;
        }
        rc = encode_segment(&E, text + seg, i - seg, seg == 0, err);
        if (rc == 0 && ivec_push(&E.out, best->id) < 0)
            rc = mint_err_setc(err, MINT_EXIT_IO, "out of memory");
        i += best->len;
        seg = i;
    }
    if (rc == 0)
        rc = encode_segment(&E, text + seg, len - seg, seg == 0, err);
    free(E.w.sym);
    free(E.w.heap);
    free(E.w.tmp.p);
    free(E.a.p);
    free(E.b.p);
    if (rc < 0) {
        free(E.out.v);
        return -1;
    }
    *ids = E.out.v ? E.out.v : malloc(sizeof(int32_t));
    *n = E.out.n;
    return 0;
}

/* ---------------------------------------------------------------- decode */

/* A list of byte strings in one buffer (no allocation per token). */
struct slist {
    struct sbuf b;
    size_t *off, *len;
    size_t n, cap;
};

static void slist_free(struct slist *l)
{
    free(l->b.p);
    free(l->off);
    free(l->len);
    memset(l, 0, sizeof *l);
}

/* start a new (empty) token */
static int slist_new(struct slist *l)
{
    if (l->n == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 256;
        size_t *no = realloc(l->off, nc * sizeof *no);
        if (!no)
            return -1;
        l->off = no;
        size_t *nl = realloc(l->len, nc * sizeof *nl);
        if (!nl)
            return -1;
        l->len = nl;
        l->cap = nc;
    }
    l->off[l->n] = l->b.n;
    l->len[l->n++] = 0;
    return 0;
}

/* append to the last token */
static int slist_add(struct slist *l, const void *s, size_t n)
{
    if (sbuf_add(&l->b, s, n) < 0)
        return -1;
    l->len[l->n - 1] += n;
    return 0;
}

static int byte_token(const char *s, size_t n, unsigned *byte)
{
    unsigned v = 0;
    if (n != 6 || memcmp(s, "<0x", 3) || s[5] != '>')
        return 0;
    for (int k = 3; k < 5; k++) {
        char c = s[k];
        int d = c >= '0' && c <= '9' ? c - '0'
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                       : -1;
        if (d < 0)
            return 0;
        v = v * 16 + (unsigned)d;
    }
    *byte = v;
    return 1;
}

/* Apply one decoder: l -> o (o empty on entry). */
static int dec_apply(const struct mint_tok *t, const struct dec *d, const struct slist *l,
                     struct slist *o)
{
    switch (d->kind) {
    case DEC_REPLACE:
    case DEC_METASPACE: {
        const char *a = d->kind == DEC_REPLACE ? d->a : t->ms_repl;
        size_t al = d->kind == DEC_REPLACE ? d->alen : t->ms_len;
        const char *b = d->kind == DEC_REPLACE ? d->b : " ";
        size_t bl = d->kind == DEC_REPLACE ? d->blen : 1;
        for (size_t i = 0; i < l->n; i++) {
            const char *s = l->b.p + l->off[i];
            size_t n = l->len[i], i0 = 0;
            if (slist_new(o) < 0)
                return -1;
            for (size_t j = 0; al && j + al <= n;) {
                if (!memcmp(s + j, a, al)) {
                    if (slist_add(o, s + i0, j - i0) < 0 || slist_add(o, b, bl) < 0)
                        return -1;
                    j += al;
                    i0 = j;
                } else {
                    j++;
                }
            }
            if (slist_add(o, s + i0, n - i0) < 0)
                return -1;
            if (d->kind == DEC_METASPACE && i == 0 && d->prepend && o->len[0] &&
                o->b.p[o->off[0]] == ' ') {
                o->off[0]++;
                o->len[0]--;
            }
        }
        return 0;
    }
    case DEC_STRIP:
        for (size_t i = 0; i < l->n; i++) {
            const char *s = l->b.p + l->off[i];
            size_t a = 0, b = l->len[i];
            for (int k = 0; k < d->start && b - a >= d->alen && !memcmp(s + a, d->a, d->alen);
                 k++)
                a += d->alen;
            for (int k = 0; k < d->stop && b - a >= d->alen &&
                            !memcmp(s + b - d->alen, d->a, d->alen);
                 k++)
                b -= d->alen;
            if (slist_new(o) < 0 || slist_add(o, s + a, b - a) < 0)
                return -1;
        }
        return 0;
    case DEC_BYTEFALLBACK: {
        size_t i = 0;
        while (i < l->n) {
            unsigned byte;
            size_t j = i;
            while (j < l->n && byte_token(l->b.p + l->off[j], l->len[j], &byte))
                j++;
            if (j == i) {
                if (slist_new(o) < 0 || slist_add(o, l->b.p + l->off[i], l->len[i]) < 0)
                    return -1;
                i++;
                continue;
            }
            /* a run of byte tokens: one string if valid UTF-8, else one U+FFFD each */
            size_t start = o->b.n;
            if (slist_new(o) < 0)
                return -1;
            for (size_t k = i; k < j; k++) {
                unsigned char c;
                byte_token(l->b.p + l->off[k], l->len[k], &byte);
                c = (unsigned char)byte;
                if (slist_add(o, &c, 1) < 0)
                    return -1;
            }
            if (!utf8_valid((const unsigned char *)o->b.p + start, o->b.n - start)) {
                o->b.n = start;
                o->n--;
                for (size_t k = i; k < j; k++)
                    if (slist_new(o) < 0 || slist_add(o, "\xEF\xBF\xBD", 3) < 0)
                        return -1;
            }
            i = j;
        }
        return 0;
    }
    case DEC_FUSE:
    case DEC_BYTELEVEL:
        if (slist_new(o) < 0)
            return -1;
        for (size_t i = 0; i < l->n; i++) {
            const char *s = l->b.p + l->off[i];
            size_t n = l->len[i];
            if (d->kind == DEC_FUSE) {
                if (slist_add(o, s, n) < 0)
                    return -1;
                continue;
            }
            for (size_t j = 0; j < n;) {
                uint32_t cp;
                size_t cl = utf8_char((const unsigned char *)s + j, n - j, &cp);
                if (cp < 512 && t->bl_byte[cp] >= 0) {
                    unsigned char c = (unsigned char)t->bl_byte[cp];
                    if (slist_add(o, &c, 1) < 0)
                        return -1;
                } else if (slist_add(o, s + j, cl) < 0) {
                    return -1;
                }
                j += cl;
            }
        }
        return 0;
    }
    return 0;
}

char *mint_tok_decode(const struct mint_tok *t, const int32_t *ids, size_t n, size_t *len,
                      struct mint_err *err)
{
    struct slist a = {0}, b = {0};
    struct sbuf out = {0};
    for (size_t i = 0; i < n; i++) {
        if (ids[i] < 0 || ids[i] >= t->n_ids || !t->piece[ids[i]]) {
            slist_free(&a);
            mint_err_set(err, "token id %d out of range", (int)ids[i]);
            return NULL;
        }
        if (slist_new(&a) < 0 || slist_add(&a, t->piece[ids[i]], t->plen[ids[i]]) < 0)
            goto oom;
    }
    for (size_t k = 0; k < t->n_dec; k++) {
        struct slist tmp;
        if (dec_apply(t, &t->dec[k], &a, &b) < 0)
            goto oom;
        tmp = a;
        a = b;
        b = tmp;
        slist_free(&b);
    }
    if (sbuf_add(&out, "", 0) < 0)
        goto oom;
    for (size_t i = 0; i < a.n; i++)
        if (sbuf_add(&out, a.b.p + a.off[i], a.len[i]) < 0)
            goto oom;
    slist_free(&a);
    if (len)
        *len = out.n;
    return out.p;
oom:
    slist_free(&a);
    slist_free(&b);
    free(out.p);
    mint_err_setc(err, MINT_EXIT_IO, "out of memory");
    return NULL;
}

/* ---------------------------------------------------------------- loading */

int32_t mint_tok_bos(const struct mint_tok *t) { return t->bos; }
int32_t mint_tok_unk(const struct mint_tok *t) { return t->unk; }
int32_t mint_tok_n_ids(const struct mint_tok *t) { return t->n_ids; }

const char *mint_tok_piece(const struct mint_tok *t, int32_t id)
{
    return id >= 0 && id < t->n_ids ? t->piece[id] : NULL;
}

void mint_tok_free(struct mint_tok *t)
{
    if (!t)
        return;
    for (int32_t i = 0; i < t->n_ids; i++)
        free(t->piece[i]);
    free(t->piece);
    free(t->plen);
    free(t->vslot);
    free(t->mkey);
    free(t->mrank);
    free(t->mnew);
    for (size_t i = 0; i < t->n_norm; i++) {
        free(t->norm[i].a);
        free(t->norm[i].b);
    }
    free(t->norm);
    for (size_t i = 0; i < t->n_dec; i++) {
        free(t->dec[i].a);
        free(t->dec[i].b);
    }
    free(t->dec);
    free(t->added);
    free(t);
}

static char *dup_json_str(const json_t *v, size_t *len)
{
    size_t n = json_string_length(v);
    char *s = malloc(n + 1);
    if (s) {
        memcpy(s, json_string_value(v), n);
        s[n] = 0;
    }
    *len = n;
    return s;
}

static const char *type_of(const json_t *o)
{
    const char *s = json_string_value(json_object_get(o, "type"));
    return s ? s : "?";
}

/* The plain-string pattern of a Replace/Split ({"String": s}), NULL otherwise. */
static const json_t *string_pattern(const json_t *o)
{
    const json_t *p = json_object_get(o, "pattern");
    const json_t *s = json_object_get(p, "String");
    return json_is_string(s) ? s : NULL;
}

static int load_normalizer(struct mint_tok *t, const json_t *n, const char *path,
                           struct mint_err *err)
{
    const char *ty;
    if (!n || json_is_null(n))
        return 0;
    ty = type_of(n);
    if (!strcmp(ty, "Sequence")) {
        const json_t *a = json_object_get(n, "normalizers");
        size_t i;
        json_t *x;
        if (!json_is_array(a))
            return mint_err_set(err, "%s: normalizer Sequence without a list", path);
        json_array_foreach(a, i, x) if (load_normalizer(t, x, path, err) < 0) return -1;
        return 0;
    }
    if (!strcmp(ty, "NFC"))
        return 0; /* identity: input assumed NFC (documented approximation) */
    if (!strcmp(ty, "Prepend") || !strcmp(ty, "Replace")) {
        struct norm nm = {0};
        struct norm *nn;
        if (!strcmp(ty, "Prepend")) {
            const json_t *p = json_object_get(n, "prepend");
            if (!json_is_string(p))
                return mint_err_set(err, "%s: Prepend normalizer without a string", path);
            nm.kind = NORM_PREPEND;
            nm.a = dup_json_str(p, &nm.alen);
        } else {
            const json_t *p = string_pattern(n), *c = json_object_get(n, "content");
            if (!p || !json_is_string(c))
                return mint_err_set(err, "%s: unsupported Replace normalizer (only a plain "
                                         "string pattern is supported)", path);
            nm.kind = NORM_REPLACE;
            nm.a = dup_json_str(p, &nm.alen);
            nm.b = dup_json_str(c, &nm.blen);
        }
        nn = realloc(t->norm, (t->n_norm + 1) * sizeof *nn);
        if (!nn) {
            free(nm.a);
            free(nm.b);
            return mint_err_setc(err, MINT_EXIT_IO, "out of memory");
        }
        t->norm = nn;
        t->norm[t->n_norm++] = nm;
        return 0;
    }
    return mint_err_set(err, "%s: unsupported normalizer '%s'", path, ty);
}

static const char re_gpt2[] =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
static const char re_llama3[] =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| "
    "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
static const char re_qwen2[] =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| "
    "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

static int ms_scheme_of(const json_t *o, enum ms_scheme *s)
{
    const json_t *ps = json_object_get(o, "prepend_scheme");
    const json_t *ap = json_object_get(o, "add_prefix_space");
    if (json_is_string(ps)) {
        const char *v = json_string_value(ps);
        if (!strcmp(v, "always"))
            *s = MS_ALWAYS;
        else if (!strcmp(v, "first"))
            *s = MS_FIRST;
        else if (!strcmp(v, "never"))
            *s = MS_NEVER;
        else
            return -1;
    } else {
        *s = (!ap || json_is_true(ap)) ? MS_ALWAYS : MS_NEVER;
    }
    return 0;
}

static int load_metaspace(struct mint_tok *t, const json_t *o, const char *path,
                          struct mint_err *err)
{
    const json_t *r = json_object_get(o, "replacement");
    const json_t *sp = json_object_get(o, "split");
    if (r && (!json_is_string(r) || json_string_length(r) == 0 ||
              json_string_length(r) >= sizeof t->ms_repl))
        return mint_err_set(err, "%s: Metaspace: bad replacement", path);
    if (r) {
        t->ms_len = json_string_length(r);
        memcpy(t->ms_repl, json_string_value(r), t->ms_len);
    } else {
        t->ms_len = 3;
        memcpy(t->ms_repl, "\xE2\x96\x81", 3);
    }
    if (ms_scheme_of(o, &t->ms_scheme) < 0)
        return mint_err_set(err, "%s: Metaspace: unknown prepend_scheme", path);
    t->ms_split = !sp || json_is_true(sp);
    return 0;
}

static int load_pretok(struct mint_tok *t, const json_t *p, const char *path,
                       struct mint_err *err)
{
    const char *ty;
    if (!p || json_is_null(p))
        return 0;
    ty = type_of(p);
    if (!strcmp(ty, "Metaspace")) {
        t->pre = PRE_METASPACE;
        return load_metaspace(t, p, path, err);
    }
    if (!strcmp(ty, "ByteLevel")) {
        const json_t *ur = json_object_get(p, "use_regex");
        t->pre = PRE_BYTELEVEL;
        t->bl_prefix = json_is_true(json_object_get(p, "add_prefix_space"));
        if (!ur || json_is_true(ur)) {
            if (t->split != SPLIT_NONE)
                return mint_err_set(err, "%s: ByteLevel with use_regex after a Split", path);
            t->split = SPLIT_GPT2;
        }
        return 0;
    }
    if (!strcmp(ty, "Split")) {
        const json_t *re = json_object_get(json_object_get(p, "pattern"), "Regex");
        const char *beh = json_string_value(json_object_get(p, "behavior"));
        const char *r = json_string_value(re);
        if (t->split != SPLIT_NONE || t->pre != PRE_NONE)
            return mint_err_set(err, "%s: unsupported pre-tokenizer sequence", path);
        if (!r || !beh || strcmp(beh, "Isolated") || json_is_true(json_object_get(p, "invert")))
            return mint_err_set(err, "%s: unsupported Split pre-tokenizer (only the GPT-2, "
                                     "Llama-3 and Qwen2 regexes, Isolated)", path);
        if (!strcmp(r, re_gpt2))
            t->split = SPLIT_GPT2;
        else if (!strcmp(r, re_llama3))
            t->split = SPLIT_LLAMA3;
        else if (!strcmp(r, re_qwen2))
            t->split = SPLIT_QWEN2;
        else
            return mint_err_set(err, "%s: unsupported Split regex '%.80s'", path, r);
        return 0;
    }
    if (!strcmp(ty, "Sequence")) {
        const json_t *a = json_object_get(p, "pretokenizers");
        size_t i;
        json_t *x;
        if (!json_is_array(a))
            return mint_err_set(err, "%s: pre-tokenizer Sequence without a list", path);
        json_array_foreach(a, i, x) if (load_pretok(t, x, path, err) < 0) return -1;
        if (t->split != SPLIT_NONE && t->pre != PRE_BYTELEVEL)
            return mint_err_set(err, "%s: a Split pre-tokenizer is supported only before "
                                     "ByteLevel", path);
        return 0;
    }
    return mint_err_set(err, "%s: unsupported pre-tokenizer '%s'", path, ty);
}

static int add_dec(struct mint_tok *t, struct dec d, struct mint_err *err)
{
    struct dec *nd = realloc(t->dec, (t->n_dec + 1) * sizeof *nd);
    if (!nd) {
        free(d.a);
        free(d.b);
        return mint_err_setc(err, MINT_EXIT_IO, "out of memory");
    }
    t->dec = nd;
    t->dec[t->n_dec++] = d;
    return 0;
}

static int load_decoder(struct mint_tok *t, const json_t *o, const char *path,
                        struct mint_err *err)
{
    const char *ty;
    struct dec d = {0};
    if (!o || json_is_null(o))
        return 0;
    ty = type_of(o);
    if (!strcmp(ty, "Sequence")) {
        const json_t *a = json_object_get(o, "decoders");
        size_t i;
        json_t *x;
        if (!json_is_array(a))
            return mint_err_set(err, "%s: decoder Sequence without a list", path);
        json_array_foreach(a, i, x) if (load_decoder(t, x, path, err) < 0) return -1;
        return 0;
    }
    if (!strcmp(ty, "Replace")) {
        const json_t *p = string_pattern(o), *c = json_object_get(o, "content");
        if (!p || !json_is_string(c))
            return mint_err_set(err, "%s: unsupported Replace decoder", path);
        d.kind = DEC_REPLACE;
        d.a = dup_json_str(p, &d.alen);
        d.b = dup_json_str(c, &d.blen);
    } else if (!strcmp(ty, "ByteFallback")) {
        d.kind = DEC_BYTEFALLBACK;
    } else if (!strcmp(ty, "Fuse")) {
        d.kind = DEC_FUSE;
    } else if (!strcmp(ty, "Strip")) {
        const json_t *c = json_object_get(o, "content");
        if (!json_is_string(c) || json_string_length(c) == 0)
            return mint_err_set(err, "%s: Strip decoder without content", path);
        d.kind = DEC_STRIP;
        d.a = dup_json_str(c, &d.alen);
        d.start = (int)json_integer_value(json_object_get(o, "start"));
        d.stop = (int)json_integer_value(json_object_get(o, "stop"));
    } else if (!strcmp(ty, "Metaspace")) {
        enum ms_scheme s;
        const json_t *r = json_object_get(o, "replacement");
        if (ms_scheme_of(o, &s) < 0)
            return mint_err_set(err, "%s: Metaspace decoder: unknown prepend_scheme", path);
        if (r && json_is_string(r) && json_string_length(r) < sizeof t->ms_repl &&
            t->pre != PRE_METASPACE) {
            t->ms_len = json_string_length(r);
            memcpy(t->ms_repl, json_string_value(r), t->ms_len);
        } else if (!t->ms_len) {
            t->ms_len = 3;
            memcpy(t->ms_repl, "\xE2\x96\x81", 3);
        }
        d.kind = DEC_METASPACE;
        d.prepend = s != MS_NEVER;
    } else if (!strcmp(ty, "ByteLevel")) {
        d.kind = DEC_BYTELEVEL;
    } else {
        return mint_err_set(err, "%s: unsupported decoder '%s'", path, ty);
    }
    return add_dec(t, d, err);
}

static int32_t special_id(const json_t *post, const char *name)
{
    const json_t *st = json_object_get(json_object_get(post, "special_tokens"), name);
    const json_t *ids = json_object_get(st, "ids");
    if (json_is_array(ids) && json_array_size(ids) == 1 &&
        json_is_integer(json_array_get(ids, 0)))
        return (int32_t)json_integer_value(json_array_get(ids, 0));
    return -1;
}

static int32_t find_bos(const json_t *post)
{
    const char *ty;
    if (!post || json_is_null(post))
        return -1;
    ty = type_of(post);
    if (!strcmp(ty, "Sequence")) {
        const json_t *a = json_object_get(post, "processors");
        size_t i;
        json_t *x;
        json_array_foreach(a, i, x)
        {
            int32_t b = find_bos(x);
            if (b >= 0)
                return b;
        }
        return -1;
    }
    if (!strcmp(ty, "TemplateProcessing")) {
        const json_t *single = json_object_get(post, "single");
        size_t i;
        json_t *x;
        json_array_foreach(single, i, x)
        {
            const json_t *sp = json_object_get(x, "SpecialToken");
            if (json_object_get(x, "Sequence"))
                return -1; /* nothing before the text */
            if (sp)
                return special_id(post, json_string_value(json_object_get(sp, "id")));
        }
    }
    return -1;
}

static uint32_t pow2_at_least(size_t n)
{
    uint32_t c = 16;
    while (c < n)
        c *= 2;
    return c;
}

static void byte_unicode_table(struct mint_tok *t)
{
    int n = 0;
    for (int b = 0; b < 256; b++) {
        int keep = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
        t->bl_cp[b] = (uint16_t)(keep ? b : 256 + n++);
    }
    for (int c = 0; c < 512; c++)
        t->bl_byte[c] = -1;
    for (int b = 0; b < 256; b++)
        t->bl_byte[t->bl_cp[b]] = (int16_t)b;
}

static int load_merges(struct mint_tok *t, const json_t *merges, const char *path,
                       struct mint_err *err)
{
    size_t nm = json_array_size(merges), i;
    json_t *x;
    t->mcap = pow2_at_least(2 * nm + 2);
    t->mkey = malloc(t->mcap * sizeof *t->mkey);
    t->mrank = malloc(t->mcap * sizeof *t->mrank);
    t->mnew = malloc(t->mcap * sizeof *t->mnew);
    if (!t->mkey || !t->mrank || !t->mnew)
        return mint_err_setc(err, MINT_EXIT_IO, "out of memory");
    memset(t->mkey, 0xff, t->mcap * sizeof *t->mkey);
    json_array_foreach(merges, i, x)
    {
        const char *a, *b;
        size_t al, bl;
        char *joined;
        int32_t la, lb, nw;
        if (json_is_string(x)) {
            const char *s = json_string_value(x), *sp = strchr(s, ' ');
            if (!sp || strchr(sp + 1, ' '))
                return mint_err_set(err, "%s: merge %zu '%s' is not two pieces", path, i, s);
            a = s;
            al = (size_t)(sp - s);
            b = sp + 1;
            bl = strlen(b);
        } else if (json_is_array(x) && json_array_size(x) == 2 &&
                   json_is_string(json_array_get(x, 0)) && json_is_string(json_array_get(x, 1))) {
            a = json_string_value(json_array_get(x, 0));
            al = json_string_length(json_array_get(x, 0));
            b = json_string_value(json_array_get(x, 1));
            bl = json_string_length(json_array_get(x, 1));
        } else {
            return mint_err_set(err, "%s: merge %zu is neither \"a b\" nor [a, b]", path, i);
        }
        la = vocab_get(t, a, al);
        lb = vocab_get(t, b, bl);
        joined = malloc(al + bl + 1);
        if (!joined)
            return mint_err_setc(err, MINT_EXIT_IO, "out of memory");
        memcpy(joined, a, al);
        memcpy(joined + al, b, bl);
        nw = vocab_get(t, joined, al + bl);
        free(joined);
        if (la < 0 || lb < 0 || nw < 0)
            return mint_err_set(err, "%s: merge %zu uses a piece that is not in the vocabulary",
                                path, i);
        uint64_t key = (uint64_t)(uint32_t)la << 32 | (uint32_t)lb;
        uint32_t mask = t->mcap - 1, h = (uint32_t)mix64(key) & mask;
        while (t->mkey[h] != UINT64_MAX && t->mkey[h] != key)
            h = (h + 1) & mask;
        if (t->mkey[h] == key)
            continue; /* duplicate merge: the first (lower rank) wins */
        t->mkey[h] = key;
        t->mrank[h] = (uint32_t)i;
        t->mnew[h] = nw;
    }
    return 0;
}

struct mint_tok *mint_tok_load(const char *path, struct mint_err *err)
{
    json_t *doc = mint_json_load(path, err), *model, *vocab, *merges, *added, *v;
    struct mint_tok *t;
    const char *key;
    int64_t max_id = -1;
    size_t i;

    if (!doc)
        return NULL;
    t = calloc(1, sizeof *t);
    if (!t) {
        json_decref(doc);
        mint_err_setc(err, MINT_EXIT_IO, "out of memory");
        return NULL;
    }
    t->unk = t->bos = -1;
    model = json_object_get(doc, "model");
    vocab = json_object_get(model, "vocab");
    merges = json_object_get(model, "merges");
    added = json_object_get(doc, "added_tokens");
    if (!json_is_object(model) ||
        (json_object_get(model, "type") && strcmp(type_of(model), "BPE"))) {
        mint_err_set(err, "%s: unsupported tokenizer model '%s' (only BPE)", path,
                     json_is_object(model) ? type_of(model) : "none");
        goto fail;
    }
    if (!json_is_object(vocab) || !json_is_array(merges)) {
        mint_err_set(err, "%s: BPE model without vocab/merges", path);
        goto fail;
    }
    {
        const json_t *d = json_object_get(model, "dropout");
        const json_t *cp = json_object_get(model, "continuing_subword_prefix");
        const json_t *ew = json_object_get(model, "end_of_word_suffix");
        if ((d && !json_is_null(d) && mint_json_number(d) != 0.0) ||
            (cp && !json_is_null(cp) && json_string_length(cp)) ||
            (ew && !json_is_null(ew) && json_string_length(ew))) {
            mint_err_set(err, "%s: unsupported BPE options (dropout, continuing_subword_prefix "
                              "or end_of_word_suffix)", path);
            goto fail;
        }
    }
    json_object_foreach(vocab, key, v)
    {
        if (!json_is_integer(v) || json_integer_value(v) < 0 ||
            json_integer_value(v) > 0x7ffffff0) {
            mint_err_set(err, "%s: vocab entry '%s' has a bad id", path, key);
            goto fail;
        }
        if (json_integer_value(v) > max_id)
            max_id = json_integer_value(v);
    }
    json_array_foreach(added, i, v)
    {
        json_int_t id = json_integer_value(json_object_get(v, "id"));
        if (!json_is_integer(json_object_get(v, "id")) || id < 0 || id > 0x7ffffff0 ||
            !json_is_string(json_object_get(v, "content"))) {
            mint_err_set(err, "%s: added_tokens[%zu] malformed", path, i);
            goto fail;
        }
        if (id > max_id)
            max_id = id;
    }
    t->n_ids = (int32_t)(max_id + 1);
    t->piece = calloc((size_t)t->n_ids + 1, sizeof *t->piece);
    t->plen = calloc((size_t)t->n_ids + 1, sizeof *t->plen);
    t->vcap = pow2_at_least(2 * (size_t)t->n_ids + 2);
    t->vslot = malloc(t->vcap * sizeof *t->vslot);
    if (!t->piece || !t->plen || !t->vslot) {
        mint_err_setc(err, MINT_EXIT_IO, "out of memory");
        goto fail;
    }
    memset(t->vslot, 0xff, t->vcap * sizeof *t->vslot);
    {
        /* jansson iterates objects in insertion order; the key length comes from the key
         * itself (no NUL inside vocabulary pieces) */
        json_object_foreach(vocab, key, v)
        {
            int32_t id = (int32_t)json_integer_value(v);
            size_t kl = strlen(key);
            if (t->piece[id]) {
                mint_err_set(err, "%s: id %d used by two vocabulary pieces", path, (int)id);
                goto fail;
            }
            t->piece[id] = strdup(key);
            t->plen[id] = (uint32_t)kl;
            if (!t->piece[id]) {
                mint_err_setc(err, MINT_EXIT_IO, "out of memory");
                goto fail;
            }
            vocab_put(t, id);
        }
    }
    json_array_foreach(added, i, v)
    {
        int32_t id = (int32_t)json_integer_value(json_object_get(v, "id"));
        const json_t *c = json_object_get(v, "content");
        if (!t->piece[id]) {
            size_t l;
            t->piece[id] = dup_json_str(c, &l);
            t->plen[id] = (uint32_t)l;
        } else if (strcmp(t->piece[id], json_string_value(c))) {
            mint_err_set(err, "%s: added token %d '%s' differs from the vocabulary piece", path,
                         (int)id, json_string_value(c));
            goto fail;
        }
    }
    t->added = calloc(json_array_size(added) + 1, sizeof *t->added);
    json_array_foreach(added, i, v)
    {
        int32_t id = (int32_t)json_integer_value(json_object_get(v, "id"));
        if (!t->plen[id])
            continue;
        t->added[t->n_added].id = id;
        t->added[t->n_added].s = t->piece[id];
        t->added[t->n_added].len = t->plen[id];
        t->added_first[(unsigned char)t->piece[id][0]] = 1;
        t->n_added++;
    }
    {
        const json_t *u = json_object_get(model, "unk_token");
        if (json_is_string(u)) {
            t->unk = vocab_get(t, json_string_value(u), json_string_length(u));
            if (t->unk < 0) {
                mint_err_set(err, "%s: unk_token '%s' is not in the vocabulary", path,
                             json_string_value(u));
                goto fail;
            }
        }
    }
    t->fuse_unk = json_is_true(json_object_get(model, "fuse_unk"));
    t->byte_fallback = json_is_true(json_object_get(model, "byte_fallback"));
    t->ignore_merges = json_is_true(json_object_get(model, "ignore_merges"));
    for (int b = 0; b < 256; b++) {
        char name[8];
        snprintf(name, sizeof name, "<0x%02X>", b);
        t->byte_tok[b] = vocab_get(t, name, 6);
    }
    byte_unicode_table(t);
    for (int b = 0; b < 256; b++) {
        char u[4];
        size_t k = utf8_put(t->bl_cp[b], u);
        t->bl_id[b] = vocab_get(t, u, k);
    }
    if (load_merges(t, merges, path, err) < 0 ||
        load_normalizer(t, json_object_get(doc, "normalizer"), path, err) < 0 ||
        load_pretok(t, json_object_get(doc, "pre_tokenizer"), path, err) < 0 ||
        load_decoder(t, json_object_get(doc, "decoder"), path, err) < 0)
        goto fail;
    t->bos = find_bos(json_object_get(doc, "post_processor"));
    if (t->bos >= t->n_ids || (t->bos >= 0 && !t->piece[t->bos])) {
        mint_err_set(err, "%s: post-processor BOS id %d is not a token", path, (int)t->bos);
        goto fail;
    }
    json_decref(doc);
    return t;
fail:
    json_decref(doc);
    mint_tok_free(t);
    return NULL;
}
