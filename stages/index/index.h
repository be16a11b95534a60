/* Internal to mint-index. */
#ifndef MINT_STAGE_INDEX_H
#define MINT_STAGE_INDEX_H
#include <stdarg.h>
struct mint_err;
int mint_index_emit_mk(const char *index_path, const char *rd_params, const char *feat_params,
                       int with_feat, const char *out, struct mint_err *err);
#endif
