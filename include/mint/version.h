/* version.h - versions of the per-tensor stages' output formats.
 *
 * A per-tensor result is stored under a content key that includes its stage's version (see
 * mint-index --emit-mk): bump a version whenever that stage's output bytes change for the same
 * input, so cached results computed by an older binary are never reused. */
#ifndef MINT_VERSION_H
#define MINT_VERSION_H

#define MINT_VERSION "0.1.0"
#define MINT_RD_VERSION "rd-1"
#define MINT_FEAT_VERSION "feat-1"

#endif
