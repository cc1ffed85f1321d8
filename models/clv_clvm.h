/* SPDX-License-Identifier: ISC */
/* Reader for cleave model files (.clvm); the format is in docs/model-format.md.
 *
 * clv_clvm_load() reads the whole file into memory (size-limited, never mmap) and
 * checks everything before anything is used: magic, version, section bounds,
 * integer overflow, duplicate names and keys, alignment, dtype, element counts
 * against byte lengths, overlapping tensors and every checksum. A bad file gives
 * CLV_ERR_FORMAT / CLV_ERR_CHECKSUM / CLV_ERR_UNSUPPORTED and one log message that
 * names the file, the tensor or key, and the problem. f16 tensors are converted to
 * f32 at load, so every bound tensor is a 64-byte aligned float array.
 *
 * A loaded ClvClvm is immutable: any number of threads may read it concurrently.
 * Pointers handed out (tensor data, metadata strings) stay valid until
 * clv_clvm_free(); a network either keeps the ClvClvm alive as long as it uses
 * the weights or copies them into its own arena.
 *
 * Typical network setup:
 *
 *     ClvClvm *m;
 *     if ((st = clv_clvm_load(path, log, &m)) != CLV_OK) return st;
 *     int64_t hidden;
 *     st = clv_clvm_meta_int(m, "hidden", &hidden);
 *     const float *w;
 *     st = CLV_CLVM_BIND(m, "gru.weight_ih_l0", &w, 3 * hidden, 513);
 *     // on a mismatch: CLV_ERR_SHAPE and a message such as
 *     // "model.clvm: tensor 'gru.weight_ih_l0' has shape [768, 257], expected [768, 513]"
 */
#ifndef CLV_CLVM_H
#define CLV_CLVM_H

#include <stddef.h>
#include <stdint.h>

#include "clv_common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ClvClvmImpl ClvClvm;

/* Format constants (see docs/model-format.md). */
#define CLV_CLVM_VERSION 1
#define CLV_CLVM_MAX_DIMS 8
#define CLV_CLVM_MAX_NAME 255                     /* bytes in a tensor name or metadata key */
#define CLV_CLVM_MAX_FILE ((size_t)1 << 30)       /* largest file clv_clvm_load() accepts */
#define CLV_CLVM_MAX_ELEMS ((int64_t)INT32_MAX)   /* largest element count of one tensor */

/* Metadata value types. */
typedef enum {
    CLV_META_STRING = 1,  /* UTF-8 text, no NUL */
    CLV_META_INT = 2,     /* int64 */
    CLV_META_FLOAT = 3,   /* double */
    CLV_META_STRINGS = 4, /* list of strings (e.g. class labels) */
    CLV_META_INTS = 5     /* list of int64 (e.g. layer widths) */
} ClvMetaType;

/* Element types stored in the file (bound tensors are always f32). */
typedef enum { CLV_DTYPE_F32 = 1, CLV_DTYPE_F16 = 2 } ClvDtype;

/* Description of one tensor. dims are in PyTorch order (row-major, last dim
 * contiguous); ndim 0 is a scalar with one element. */
typedef struct {
    const char *name;   /* NUL-terminated, owned by the ClvClvm */
    int ndim;
    int64_t dims[CLV_CLVM_MAX_DIMS];
    int64_t count;      /* product of dims */
    ClvDtype stored;    /* dtype in the file */
    const float *data;  /* converted f32 data, 64-byte aligned, `count` floats */
} ClvTensorInfo;

/* Loads and validates a model file. `log` may be NULL; it is copied and used for
 * the messages of later calls on this model too. Thread: non-RT. */
ClvStatus clv_clvm_load(const char *path, const ClvLog *log, ClvClvm **out);

/* Same checks on a file image already in memory (copied; `data` may be freed
 * after the call). `name` is used in messages in place of the path. Used by tests
 * and the fuzz harness. Thread: non-RT. */
ClvStatus clv_clvm_load_memory(const void *data, size_t size, const char *name,
                               const ClvLog *log, ClvClvm **out);

/* Frees the model and everything it handed out; NULL is a no-op. Thread: non-RT. */
void clv_clvm_free(ClvClvm *m);

/* The path (or name) given at load. Thread: any. */
const char *clv_clvm_path(const ClvClvm *m);

/* --- metadata ------------------------------------------------------------ */

/* Typed metadata by key. Missing key: CLV_ERR_NOT_FOUND; other type:
 * CLV_ERR_FORMAT (both logged with the file and key). Returned strings and
 * arrays are owned by the model. Thread: any. */
ClvStatus clv_clvm_meta_string(const ClvClvm *m, const char *key, const char **out);
ClvStatus clv_clvm_meta_int(const ClvClvm *m, const char *key, int64_t *out);
/* Accepts an INT entry too (converted). */
ClvStatus clv_clvm_meta_float(const ClvClvm *m, const char *key, double *out);
ClvStatus clv_clvm_meta_strings(const ClvClvm *m, const char *key, const char *const **items,
                                int *count);
/* Numeric metadata that must lie in [lo, hi] (networks sizing buffers from it):
 * out of range is CLV_ERR_FORMAT, logged with the file, key, value and range.
 * Thread: any. */
ClvStatus clv_clvm_meta_int_range(const ClvClvm *m, const char *key, int64_t lo, int64_t hi,
                                  int *out);
ClvStatus clv_clvm_meta_float_range(const ClvClvm *m, const char *key, double lo, double hi,
                                    double *out);
ClvStatus clv_clvm_meta_ints(const ClvClvm *m, const char *key, const int64_t **items,
                             int *count);

/* Whether a metadata key exists (any type); nothing is logged. Thread: any. */
int clv_clvm_has_meta(const ClvClvm *m, const char *key);

/* Number of metadata entries and the key / type of entry i (0 <= i < count), for
 * tools that list a file. Thread: any. */
int clv_clvm_meta_count(const ClvClvm *m);
ClvStatus clv_clvm_meta_entry(const ClvClvm *m, int i, const char **key, ClvMetaType *type);

/* --- tensors ------------------------------------------------------------- */

/* Number of tensors and tensor i in file order. Thread: any. */
int clv_clvm_tensor_count(const ClvClvm *m);
ClvStatus clv_clvm_tensor_at(const ClvClvm *m, int i, ClvTensorInfo *info);

/* Looks a tensor up by name; CLV_ERR_NOT_FOUND (not logged) when absent.
 * Thread: any. */
ClvStatus clv_clvm_find(const ClvClvm *m, const char *name, ClvTensorInfo *info);

/* Binds a tensor by name and expected shape: *out receives its f32 data.
 * dims[i] == -1 accepts any size in that position. A missing tensor gives
 * CLV_ERR_NOT_FOUND, a different rank or size CLV_ERR_SHAPE; both are logged
 * with the file, the tensor and (for shapes) both shapes. *out is NULL on error.
 * Thread: any. */
ClvStatus clv_clvm_bind(const ClvClvm *m, const char *name, int ndim, const int64_t *dims,
                        const float **out);

/* clv_clvm_bind() with the expected dims written inline:
 *     CLV_CLVM_BIND(m, "fc.weight", &w, 256, 513)  */
#define CLV_CLVM_BIND(m, name, out, ...)                                              \
    clv_clvm_bind((m), (name), (int)(sizeof((const int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), \
                  (const int64_t[]){__VA_ARGS__}, (out))

/* Like clv_clvm_bind() but a missing tensor is not an error: *out = NULL and
 * CLV_OK (for optional biases). A present tensor of the wrong shape is still
 * CLV_ERR_SHAPE. Thread: any. */
ClvStatus clv_clvm_bind_optional(const ClvClvm *m, const char *name, int ndim,
                                 const int64_t *dims, const float **out);
#define CLV_CLVM_BIND_OPTIONAL(m, name, out, ...)                                     \
    clv_clvm_bind_optional((m), (name),                                               \
                           (int)(sizeof((const int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), \
                           (const int64_t[]){__VA_ARGS__}, (out))

/* --- helpers shared with tools and tests -------------------------------- */

/* CRC-32 (IEEE 802.3, the polynomial of zlib.crc32); crc = 0 to start,
 * or a previous result to continue. Thread: any. */
uint32_t clv_crc32(uint32_t crc, const void *data, size_t n);

/* IEEE half to float (all values: subnormals, inf, NaN). Thread: any. */
float clv_half_to_float(uint16_t h);

#ifdef __cplusplus
}
#endif
#endif
