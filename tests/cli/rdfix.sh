# Shared by the merge and solve CLI tests: mkrd INDEX DIR [SCALE] writes a synthetic rd.json and
# feat.json for every tensor of INDEX (realistic NRMSE curves, exact byte model) into DIR.
mkrd() {
    awk -v dir="$2" -v scale="${3:-1}" '
    function hexval(c) { return index("0123456789abcdef", c) - 1 }
    function emit(   n, cols, i, j, f, s, b, g, nr, sq, by, av, sep, shp, out16, feat) {
        n = 1; shp = ""
        for (i = 1; i <= nd; i++) { n *= dims[i]; shp = shp (i > 1 ? "," : "") dims[i] }
        cols = dims[nd]
        s = scale * (0.8 + 0.4 * (hexval(substr(hash, 1, 1)) * 16 + hexval(substr(hash, 2, 1))) / 255)
        feat = dir "/" name ".feat.json"
        printf "{\"schema\":1,\"tensor\":\"%s\",\"hash\":\"%s\",\"stable_rank\":%.4f,\"kurt_p90\":3.1}\n", name, hash, s * 10 > feat
        close(feat)
        if (nd < 2) return
        f = dir "/" name ".rd.json"
        printf "{\"schema\":1,\"tensor\":\"%s\",\"hash\":\"%s\",\"shape\":[%s],\"params\":%d,\"dtype\":\"%s\",\"out_dtype\":\"BF16\",\"quantizer\":\"mlx\",\"norm\":null,\"experts\":null,\"configs\":[", name, hash, shp, n, dtype > f
        sep = ""
        for (j = 1; j <= 14; j++) {
            b = cb[j]; g = cg[j]
            if (b == 16) {
                nr = (dtype == "F32") ? 0.0017 * s : 0; by = 2 * n; av = 1
            } else {
                nr = cn[j] * s; by = n * b / 8 + 4 * n / g; av = (cols % g == 0)
            }
            sq = nr > 0 ? -20 * log(nr) / log(10) : 100; if (sq > 100) sq = 100
            if (av)
                printf "%s{\"bits\":%d,\"group\":%d,\"available\":true,\"bytes\":%d,\"nrmse\":%.6g,\"sqnr_db\":%.6g,\"mse\":%.6g}", sep, b, g, by, nr, sq, nr * nr * 0.01 > f
            else
                printf "%s{\"bits\":%d,\"group\":%d,\"available\":false,\"bytes\":null,\"nrmse\":null,\"sqnr_db\":null,\"mse\":null}", sep, b, g > f
            sep = ","
        }
        printf "]}\n" > f
        close(f)
    }
    BEGIN {
        split("2 2 3 3 4 4 4 5 5 6 6 8 8 16", cb, " ")
        split("64 32 64 32 128 64 32 64 32 64 32 128 64 0", cg, " ")
        split("0.395 0.363 0.191 0.171 0.101 0.091 0.081 0.044 0.039 0.022 0.020 0.0078 0.0073 0", cn, " ")
    }
    /^ "tensors": \[/ { in_t = 1; next }
    !in_t { next }
    /^  \{/ { name = ""; hash = ""; dtype = ""; nd = 0; in_shape = 0; next }
    /^   "name": / { name = $2; gsub(/[",]/, "", name); next }
    /^   "hash": / { hash = $2; gsub(/[",]/, "", hash); next }
    /^   "dtype": / { dtype = $2; gsub(/[",]/, "", dtype); next }
    /^   "shape": \[\]/ { nd = 0; next }
    /^   "shape": \[/ { in_shape = 1; next }
    in_shape && /^   \]/ { in_shape = 0; next }
    in_shape { v = $1; gsub(/,/, "", v); dims[++nd] = v + 0; next }
    /^  \}/ { emit() }
    ' "$1"
}
